"""A canary password and token in every URL setting (and in the webhook's path, as Slack's) appear nowhere: not in the worker or listener logs, any
Redis key, ``status --json``, ``history --json``, the HTML report or Flower's pages, after runs that
succeed, fail their data-quality rules, fail a phase with a URL in the error, and alert to a webhook that
refuses the first delivery."""

from __future__ import annotations

import base64
import json
import socket
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.engine import make_url

from tests.faults.conftest import Receiver, _drop, _fresh_database, _start
from tests.helpers import FIXTURES, etl, stage_fixtures, wait_for

CANARY = f"canary{uuid.uuid4().hex[:10]}"
FLOWER_AUTH = "ops:flower-pass"


def _redis_values(client: redis.Redis) -> Iterator[bytes]:
    for key in client.scan_iter(count=500):
        yield key
        kind = client.type(key)
        if kind == b"string":
            yield client.get(key) or b""
        elif kind == b"hash":
            yield from (part for pair in client.hgetall(key).items() for part in pair)
        elif kind == b"list":
            yield from client.lrange(key, 0, -1)
        elif kind == b"set":
            yield from client.smembers(key)
        elif kind == b"zset":
            yield from client.zrange(key, 0, -1)


@pytest.fixture
def canary_stack(template_db, redis_url, tmp_path):  # type: ignore[no-untyped-def]
    from etl_worker.settings import Settings

    user = f"etl-canary-{uuid.uuid4().hex[:6]}"
    admin = redis.Redis.from_url(redis_url)
    admin.execute_command("ACL", "SETUSER", user, "on", f">{CANARY}", "~*", "&*", "+@all")
    url = _fresh_database(template_db)
    database_url = make_url(url).set(password=CANARY).render_as_string(hide_password=False)  # trust auth
    parts = make_url(database_url)
    assert parts.password == CANARY
    broker = redis_url.replace("redis://", f"redis://{user}:{CANARY}@", 1)
    receiver = Receiver(fail_first=1, auth=f"ops:{CANARY}")
    hook_url = receiver.url.replace("http://", f"http://ops:{CANARY}@", 1) + f"/services/T0/B0/{CANARY}?token={CANARY}"
    settings = Settings.from_env().with_overrides(database_url=database_url, broker_url=broker, result_backend=broker)
    env = {"ETL_ALERT_WEBHOOK_URL": hook_url, "ETL_RESULT_BACKEND": broker, "ETL_FLOWER_BASIC_AUTH": FLOWER_AUTH}
    procs, faults = _start(settings, tmp_path, env)
    try:
        yield settings, procs, faults, receiver
    finally:
        procs.stop_all()
        from etl_worker.celery_app import app

        app.control.purge()
        _drop(url)
        admin.execute_command("ACL", "DELUSER", user)
        admin.close()


def _flower_pages(port: int) -> list[str]:
    """Flower's overview pages, and the page and API record of every task it saw."""

    def get(path: str) -> str:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
        request.add_header("Authorization", "Basic " + base64.b64encode(FLOWER_AUTH.encode()).decode())
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode(errors="replace")

    def known() -> list[str]:
        return list(json.loads(get("/api/tasks")))

    seen = wait_for(lambda: (lambda ids: ids if len(ids) >= 20 else [])(known()), 60, "Flower to see the runs' tasks")
    host = socket.gethostname()
    pages = [get(p) for p in ("/", "/tasks", "/api/tasks", "/broker", "/api/workers", f"/worker/w1@{host}")]
    pages += [get(f"/task/{task_id}") for task_id in seen]
    pages += [get(f"/api/task/info/{task_id}") for task_id in seen]
    return pages


def test_a_canary_secret_in_every_url_setting_appears_nowhere(canary_stack, tmp_path):
    from etl_worker.orchestrator import ETLOrchestrator

    settings, procs, faults, receiver = canary_stack
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        flower_port = s.getsockname()[1]
    procs.start("flower", "flower", "--port", str(flower_port))
    wait_for(lambda: "Connected to redis" in procs.log("flower"), 60, "Flower to follow the events")
    orchestrator = ETLOrchestrator(max_records_per_batch=10, timeout_seconds=120, settings=settings)

    ok = orchestrator.execute_extraction_sync(stage_fixtures(settings, ("yahoo", "pff")))
    assert ok.overall_status == "success"

    bad = tmp_path / "nfl_bad.csv"
    lines = (FIXTURES / "nfl.csv").read_text().splitlines()
    bad.write_text("\n".join([lines[0], *("not-a-year" + line[4:] for line in lines[1:])]) + "\n")
    from etl_worker.ingest import ingest_file

    failed_rules = orchestrator.execute_extraction_sync(ingest_file(settings, "nfl", bad).extraction_id)
    assert failed_rules.overall_status == "failed"

    # A library that echoes its connection string into its error, inside a phase.
    (faults / "validate_error").write_text(f"could not connect to {settings.database_url} via {settings.broker_url}")
    crashed = orchestrator.execute_extraction_sync(stage_fixtures(settings, ("yahoo",)))
    (faults / "validate_error").unlink()
    assert crashed.overall_status == "failed" and "***" in (crashed.error_summary or "")

    executions = [ok, failed_rules, crashed]
    alerted = {e.execution_id for e in (failed_rules, crashed)}
    wait_for(lambda: alerted <= {p["execution_id"] for p in receiver.payloads}, 90, "the alerts to reach the webhook")
    assert receiver.refused == 1 and receiver.unauthorized == 0  # Basic auth from the URL; retried after a 500

    env = {
        "ETL_DATABASE_URL": settings.database_url,
        "ETL_BROKER_URL": settings.broker_url,
        "ETL_RESULT_BACKEND": settings.result_backend,
    }
    shown = [etl("history", "--json", "--limit", "50", env=env).stdout]
    for execution in executions:
        shown.append(etl("status", execution.execution_id, "--json", env=env).stdout)
        report = tmp_path / f"{execution.execution_id}.html"
        assert etl("report", execution.execution_id, "-o", str(report), env=env).returncode == 0
        shown.append(report.read_text())
    shown.append(etl("alerts", "--json", env=env).stdout)
    shown += [procs.log(name) for name in ("w1", "w2", "listener", "flower")]
    shown += _flower_pages(flower_port)
    client = redis.Redis.from_url(settings.broker_url)
    try:
        stored = list(_redis_values(client))
    finally:
        client.close()
    assert stored and any(b"etl.transform" in v or b"celery-task-meta" in v for v in stored)
    leaks = [text[max(0, text.find(CANARY) - 200) : text.find(CANARY) + 50] for text in shown if CANARY in text]
    leaks += [v[:300].decode(errors="replace") for v in stored if CANARY.encode() in v]
    assert leaks == []
