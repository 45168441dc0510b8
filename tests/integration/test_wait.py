"""Waiting for an execution: the waiter wakes when the execution ends (PostgreSQL notifies it as the
end commits), not at its next poll. Every wait here polls once an hour: only the notification can
end it within the test's deadline."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

from etl_worker.db import tracking
from etl_worker.db.engine import listening, transaction
from etl_worker.orchestrator import ETLOrchestrator
from tests.helpers import scalar, stage_fixtures, wait_for

HOUR = 3600.0


def _active_execution(settings: Any, timeout_seconds: int = 600) -> str:
    execution_id = str(uuid.uuid4())
    extraction_id = stage_fixtures(settings, ("yahoo",))
    with transaction(settings.database_url) as conn:
        tracking.create_execution(conn, execution_id, extraction_id, ["yahoo"], timeout_seconds, 100, None)
    return execution_id


def _in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.update(result=call()), daemon=True)
    thread.start()
    return thread, out


def test_the_end_of_an_execution_and_its_deadline_are_announced_as_they_commit(settings):  # type: ignore[no-untyped-def]
    finished, overdue = _active_execution(settings), _active_execution(settings, timeout_seconds=1)
    with listening(settings.database_url, tracking.ENDED_CHANNEL) as notices:
        waiter, _ = _in_thread(lambda: notices.wait(HOUR))
        with transaction(settings.database_url) as conn:
            tracking.finish_execution(conn, finished, "success")
        waiter.join(30)
        assert not waiter.is_alive(), "the end of an execution was not announced"

        wait_for(
            lambda: scalar(
                settings, "SELECT now() > deadline_at FROM etl_executions WHERE execution_id = :e", e=overdue
            ),
            30,
            "the deadline",
        )
        waiter, _ = _in_thread(lambda: notices.wait(HOUR))
        with transaction(settings.database_url) as conn:
            assert overdue in tracking.fail_overdue(conn)
        waiter.join(30)
        assert not waiter.is_alive(), "an execution failed past its deadline was not announced"


def _listening(settings: Any) -> bool:
    sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = :q"
    return scalar(settings, sql, q=f"LISTEN {tracking.ENDED_CHANNEL}") > 0


def test_a_waiting_orchestrator_returns_when_the_execution_ends(settings):  # type: ignore[no-untyped-def]
    runner = ETLOrchestrator(settings=settings)
    execution_id = _active_execution(settings)
    waiter, out = _in_thread(lambda: runner.wait(execution_id, poll_seconds=HOUR))
    wait_for(lambda: _listening(settings), 30, "the waiter to listen")
    with transaction(settings.database_url) as conn:
        tracking.finish_execution(conn, execution_id, "success")
    waiter.join(30)
    assert out["result"].overall_status == "success"

    execution_id = _active_execution(settings)
    waiter, out = _in_thread(lambda: asyncio.run(runner.wait_async(execution_id, poll_seconds=HOUR)))
    wait_for(lambda: _listening(settings), 30, "the waiter to listen")
    with transaction(settings.database_url) as conn:
        tracking.finish_execution(conn, execution_id, "failed", error_summary="stopped by the test")
    waiter.join(30)
    assert out["result"].overall_status == "failed"
    assert out["result"].error_summary == "stopped by the test"
    wait_for(lambda: not _listening(settings), 30, "the waiter to stop listening")
