"""A fresh database and a fresh pair of fault-hooked workers (and a listener) for every scenario."""

from __future__ import annotations

import base64
import json
import os
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from etl_worker.supervisor import ProcessGroup
from tests.helpers import canonical_snapshot, stage_fixtures, wait_for

ROOT = Path(__file__).parents[2]


FAULTY = (sys.executable, "-m", "tests.faults.faulty_worker")  # etl-worker with the fault hooks


class Receiver:
    """A local webhook endpoint that keeps every JSON payload; it answers 500 to the first ``fail_first``,
    and 401 to a request without the Basic ``auth`` (``user:password``) when one is asked for."""

    def __init__(self, fail_first: int = 0, auth: str | None = None) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.refused = 0
        self.unauthorized = 0
        expected = "Basic " + base64.b64encode(auth.encode()).decode() if auth else None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if expected is not None and self.headers.get("Authorization") != expected:
                    receiver.unauthorized += 1
                    self.send_response(401)
                elif receiver.refused < fail_first:
                    receiver.refused += 1
                    self.send_response(500)
                else:
                    receiver.payloads.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def rules(self, execution_id: str) -> set[str]:
        return {p["rule"] for p in self.payloads if p["execution_id"] == execution_id}


class Scenario:
    def __init__(self, settings, procs: ProcessGroup, faults: Path) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings
        self.procs = procs
        self.faults = faults

    def arm(self, fault: str, value: str = "") -> None:
        (self.faults / fault).write_text(value)

    def scalar(self, sql: str, **params):  # type: ignore[no-untyped-def]
        engine = sa.create_engine(self.settings.database_url)
        try:
            with engine.begin() as conn:  # commits a write (a test moving history back in time)
                return conn.execute(sa.text(sql), params).scalar_one()
        finally:
            engine.dispose()


def _fresh_database(template: str) -> str:
    from tests.conftest import ADMIN_URL, RUN_ID

    name = f"etl_test_{RUN_ID}_{os.urandom(3).hex()}"
    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    from tests.conftest import ADMIN_URL

    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def _start(
    settings, tmp: Path, extra_env: dict[str, str] | None = None, probe_app: bool = True
) -> tuple[ProcessGroup, Path]:  # type: ignore[no-untyped-def]

    faults = tmp / "faults"
    faults.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "ETL_DATABASE_URL": settings.database_url,
        "ETL_BROKER_URL": settings.broker_url,
        "ETL_RESULT_BACKEND": settings.result_backend,
        "ETL_TEST_FAULTS": str(faults),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    procs = ProcessGroup(env, tmp, FAULTY)
    nodes = {procs.start_worker("w1"), procs.start_worker("w2")}
    procs.start("listener", "listener")

    if probe_app:  # this process's app speaks to the run's broker
        procs.wait_for_workers(nodes, 60)
    else:
        wait_for(
            lambda: all(
                f"{n.split('@')[0]}@" in procs.log(n.split("@")[0]) and " ready." in procs.log(n.split("@")[0])
                for n in nodes
            ),
            60,
            "both workers to be ready",
        )
    wait_for(lambda: "listener ready" in procs.log("listener"), 30, "the listener")
    return procs, faults


@pytest.fixture(scope="session")
def baseline(template_db, redis_url, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Canonical tables after a fault-free run of the fixture input (I2 compares against it)."""
    from etl_worker.orchestrator import ETLOrchestrator
    from etl_worker.settings import Settings

    url = _fresh_database(template_db)
    settings = Settings.from_env().with_overrides(database_url=url, broker_url=redis_url, result_backend=redis_url)
    procs, _ = _start(settings, tmp_path_factory.mktemp("baseline"))
    try:
        execution = ETLOrchestrator(
            max_records_per_batch=10, timeout_seconds=120, settings=settings
        ).execute_extraction_sync(stage_fixtures(settings))
        assert execution.overall_status == "success"
        return canonical_snapshot(url)
    finally:
        procs.stop_all()
        _drop(url)


@pytest.fixture
def scenario(template_db, redis_url, tmp_path, request) -> Iterator[Scenario]:  # type: ignore[no-untyped-def]
    from etl_worker.settings import Settings

    url = _fresh_database(template_db)
    marker = request.node.get_closest_marker("worker_env")
    settings = Settings.from_env().with_overrides(database_url=url, broker_url=redis_url, result_backend=redis_url)
    procs, faults = _start(settings, tmp_path, marker.args[0] if marker else None)
    try:
        yield Scenario(settings, procs, faults)
    finally:
        procs.stop_all()
        from etl_worker.celery_app import app

        app.control.purge()  # nothing of this scenario may reach the next one's workers
        _drop(url)


HOST = socket.gethostname()
