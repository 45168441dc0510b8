"""A real stack per test module: two ``celery worker`` processes with different node names and a listener."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl_worker.supervisor import ProcessGroup
from tests.helpers import wait_for


@pytest.fixture(scope="module")
def worker_path() -> list[str]:
    """What the workers import from besides the installed packages (a module may add to it)."""
    return [str(Path(__file__).parents[2])]


@pytest.fixture(scope="module")
def stack(settings, worker_path: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessGroup]:  # type: ignore[no-untyped-def]

    env = {
        **os.environ,
        "ETL_DATABASE_URL": settings.database_url,
        "ETL_BROKER_URL": settings.broker_url,
        "ETL_RESULT_BACKEND": settings.result_backend,
        "PYTHONPATH": os.pathsep.join(worker_path),
        # Where the workers of tests.e2e.seed_plugins:RendezvousPffSource meet.
        "ETL_TEST_RENDEZVOUS": str(tmp_path_factory.mktemp("rendezvous")),
    }
    procs = ProcessGroup(env, tmp_path_factory.mktemp("stack"))
    procs.start_worker("w1")
    procs.start_worker("w2")
    procs.start("listener", "listener")
    host = socket.gethostname()
    try:
        procs.wait_for_workers({f"w1@{host}", f"w2@{host}"}, 60)
        wait_for(lambda: "listener ready" in procs.log("listener"), 30, "the listener")
    except (AssertionError, TimeoutError):
        print({name: procs.log(name)[-2000:] for name in ("w1", "w2", "listener")})
        procs.stop_all()
        raise
    yield procs
    procs.stop_all()
