"""Names from input never become SQL; secrets never reach a message."""

from __future__ import annotations

import base64
import http.server
import io
import logging
import threading
from typing import ClassVar

import pytest

from celeryconfig import celery_config
from etl_worker.db.staging import staging_table
from etl_worker.errors import ConfigurationError, RetriableError
from etl_worker.ops.alerts import WebhookSink
from etl_worker.redact import install, redact_text, redact_url
from etl_worker.settings import Alerting, Settings
from etl_worker.sources import get_source


@pytest.mark.parametrize("name", ["pff; DROP TABLE prospect_core", "pff_staging", "../nfl", "NFL", ""])
def test_a_source_name_that_is_not_registered_is_refused(name):
    with pytest.raises(ConfigurationError):
        get_source(name)
    with pytest.raises(ConfigurationError):
        staging_table(name)


def test_urls_shown_to_people_hide_the_password():
    shown = redact_url("postgresql+psycopg2://scout:s3cret@db.example:5432/etl")
    assert "s3cret" not in shown and "db.example" in shown


CANARY = "c4nary-S3CRET"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://scout:{CANARY}@db.example:5432/etl",
        f"postgresql://scout:{CANARY}@odd@db.example/etl",  # an '@' in the password, not encoded
        f"redis://:{CANARY}@127.0.0.1:6379/0",
        f"amqp://guest:{CANARY}@rabbit//",
        f"https://{CANARY}@hooks.example/etl",
        f"https://ops:{CANARY}@hooks.example/etl?team=scouting&token={CANARY}",
        f"https://hooks.example/etl?api_key={CANARY}#x",
    ],
)
def test_one_redaction_hides_passwords_tokens_and_secret_parameters(url):
    assert CANARY not in redact_url(url)
    assert CANARY not in redact_text(f"could not send to {url}: refused")
    assert "example" in redact_url(url) or "127.0.0.1" in redact_url(url) or "rabbit" in redact_url(url)


def test_log_lines_and_tracebacks_are_redacted(caplog):
    logger = logging.getLogger("etl_worker.test_redaction")
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    try:
        install(logger)
        try:
            raise ValueError(f"no route to https://ops:{CANARY}@hooks.example/etl")
        except ValueError:
            logger.exception("sending to %s failed", f"redis://:{CANARY}@cache:6379/0")
        written = handler.stream.getvalue()  # type: ignore[attr-defined]
    finally:
        logger.removeHandler(handler)
    assert "sending to redis://:***@cache:6379/0 failed" in written and "ValueError" in written
    assert CANARY not in written


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"postgresql://scout:{CANARY}@odd@db/etl", "an '@' in its password"),
        (f"postgres://scout:{CANARY}@db:port/etl", "port that is not a number"),
        (f"mysql://scout:{CANARY}@db/etl", "scheme 'mysql'"),
    ],
)
def test_a_malformed_database_url_is_one_line_without_its_password(url, says):
    with pytest.raises(ConfigurationError, match=says) as refused:
        Settings.from_env({"ETL_DATABASE_URL": url})
    assert CANARY not in str(refused.value) and "\n" not in str(refused.value)


def test_postgresql_urls_as_users_write_them_get_the_installed_driver():
    for scheme in ("postgresql", "postgres", "POSTGRESQL"):
        settings = Settings.from_env({"ETL_DATABASE_URL": f"{scheme}://scout@db.example:5432/etl"})
        assert settings.database_url == "postgresql+psycopg2://scout@db.example:5432/etl"


@pytest.mark.parametrize(
    ("name", "url"),
    [("ETL_BROKER_URL", f"kafka://guest:{CANARY}@127.0.0.1:9092"), ("ETL_RESULT_BACKEND", f"amqp://g:{CANARY}@h//")],
)
def test_an_unsupported_broker_scheme_is_one_line(name, url):
    with pytest.raises(ConfigurationError, match=f"{name} must be a URL starting with redis://") as refused:
        Settings.from_env({name: url})
    assert CANARY not in str(refused.value)


def test_rabbitmq_is_a_broker_and_needs_a_redis_result_backend():
    broker = f"amqp://guest:{CANARY}@127.0.0.1:5672/etl"
    with pytest.raises(ConfigurationError, match="ETL_RESULT_BACKEND must name a Redis server") as refused:
        Settings.from_env({"ETL_BROKER_URL": broker})
    assert CANARY not in str(refused.value)
    settings = Settings.from_env({"ETL_BROKER_URL": broker, "ETL_RESULT_BACKEND": "redis://127.0.0.1:6379/3"})
    assert settings.broker_url == broker
    config = celery_config(settings)
    [queue] = config["task_queues"]
    assert queue.queue_arguments["x-queue-type"] == "quorum"
    assert config["broker_transport_options"] == {"confirm_publish": True}


class _Hook(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.seen.append((self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_webhook_url_with_userinfo_is_sent_with_basic_auth_not_in_the_address():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        sink = WebhookSink(f"http://ops:{CANARY}@127.0.0.1:{port}/hook?team=scouting")
        assert CANARY not in sink.url and CANARY not in sink.shown
        sink.send({"rule": "run_failed"})
    finally:
        server.shutdown()
        server.server_close()
    expected = "Basic " + base64.b64encode(f"ops:{CANARY}".encode()).decode()
    assert _Hook.seen == [("/hook?team=scouting", expected)]


def test_a_webhook_that_cannot_be_reached_fails_retriably_without_the_token():
    sink = WebhookSink(f"http://ops:{CANARY}@127.0.0.1:1/hook?token={CANARY}", timeout=2)
    with pytest.raises(RetriableError) as failed:
        sink.send({"rule": "run_failed"})
    assert "unreachable" in str(failed.value) and CANARY not in str(failed.value)


def test_an_exception_escaping_a_task_is_stored_redacted():
    from etl_worker.celery_app import app

    @app.task(name="test.leaky", shared=False)
    def leaky() -> None:
        raise ValueError(f"cannot reach https://ops:{CANARY}@hooks.example/x")

    result = leaky.apply()  # eager: the task's own call path, without a broker
    assert result.failed()
    assert "https://ops:***@hooks.example/x" in str(result.result)
    assert CANARY not in repr(result.result) and CANARY not in (result.traceback or "")


@pytest.mark.parametrize(
    "path",
    [
        f"/services/T0AAAAAAA/B0BBBBBBB/{CANARY}",  # Slack
        f"/api/webhooks/123456789/{CANARY}",  # Discord
        f"/webhookb2/{CANARY}@tenant/IncomingWebhook/{CANARY}/owner",  # Teams
    ],
)
def test_a_webhook_secret_in_the_path_is_shown_nowhere(path):
    # Issue 25, finding 5: the path's secret reached alerts --json, worker logs and task results.
    url = f"http://127.0.0.1:1{path}"
    sink = WebhookSink(url, timeout=2)
    assert sink.shown.startswith("http://127.0.0.1:1/***#sha256=") and CANARY not in sink.shown
    assert WebhookSink(url + "2").shown != sink.shown  # two webhooks on one host are told apart
    with pytest.raises(RetriableError) as failed:
        sink.send({"rule": "run_failed"})
    assert "unreachable" in str(failed.value) and CANARY not in str(failed.value)
    logger = logging.getLogger("etl_worker.test_webhook")
    stream = io.StringIO()
    logger.addHandler(logging.StreamHandler(stream))
    try:
        install(logger)
        logger.warning("posting to %s failed", url)
    finally:
        logger.handlers.clear()
    assert "posting to http://127.0.0.1:1/***#sha256=" in stream.getvalue() and CANARY not in stream.getvalue()
    assert CANARY not in redact_text(f"urlopen({sink.url}) failed")
    assert CANARY not in repr(Alerting(webhook_url=url))
