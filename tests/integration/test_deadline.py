"""A run that outlives its deadline is failed with a clear error instead of hanging forever."""

from __future__ import annotations

import threading
import uuid

import sqlalchemy as sa

from etl_worker.db import tracking
from etl_worker.db.engine import transaction
from etl_worker.tracking.listener import Listener
from tests.helpers import stage_fixtures, wait_for


def _stuck_run(settings) -> str:  # type: ignore[no-untyped-def]
    """A running execution past its deadline, as if its chord never fired."""
    extraction_id = stage_fixtures(settings, ("yahoo",))
    execution_id = str(uuid.uuid4())
    with transaction(settings.database_url) as conn:
        tracking.create_execution(conn, execution_id, extraction_id, ["yahoo"], 60, 10, "w@test")
        tracking.mark_running(conn, execution_id, {"ctx": {}, "plan": []})
        # As if its chord never fired: still running, and now past the deadline.
        conn.execute(
            sa.text("UPDATE etl_executions SET deadline_at = now() - interval '1 second' WHERE execution_id = :e"),
            {"e": execution_id},
        )
    return execution_id


def test_a_stuck_run_is_failed_at_its_deadline(settings):
    from etl_worker.orchestrator import ETLOrchestrator

    execution_id = _stuck_run(settings)
    execution = ETLOrchestrator(settings=settings).wait(execution_id)
    assert execution.overall_status == "failed"
    assert "deadline exceeded" in (execution.error_summary or "")
    # Every phase is recorded: the one it was in failed, the rest not run.
    assert [(p.phase, p.status) for p in execution.phases] == [
        ("extract", "failed"),
        *[(phase, "skipped") for phase in ("transform", "validate", "merge", "load", "publish")],
    ]
    assert execution.phases[0].error_message == "deadline exceeded"


def test_the_listener_fails_a_run_past_its_deadline_and_hands_it_to_the_alerts(settings):
    execution_id = _stuck_run(settings)
    alerted: list[str] = []
    stop = threading.Event()
    listener = threading.Thread(target=Listener(settings, deadline_alerts=alerted.append).run, args=(stop,))
    listener.start()
    try:
        wait_for(lambda: alerted == [execution_id], 30, "the listener to fail the run and raise its alerts")
    finally:
        stop.set()
        listener.join(10)
    with transaction(settings.database_url) as conn:
        assert tracking.execution_status(conn, execution_id) == "failed"


def test_a_second_run_of_an_active_extraction_joins_the_first(settings):
    extraction_id = stage_fixtures(settings, ("yahoo",))
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    with transaction(settings.database_url) as conn:
        assert tracking.create_execution(conn, first, extraction_id, ["yahoo"], 60, 10, None) == first
        assert tracking.create_execution(conn, second, extraction_id, ["yahoo"], 60, 10, None) == first
        assert tracking.execution_status(conn, second) is None
