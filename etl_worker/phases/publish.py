"""Publish: refresh the analytics views (one task each, in parallel), then record the execution's outcome.

Publish fails only when every view refresh fails. As the last step of the chain it also writes the
execution's final status, totals and quality score (after a halted run, the task policy does: tasks.py).
"""

from __future__ import annotations

import logging

from etl_worker.db import canonical, tracking
from etl_worker.db.engine import transaction
from etl_worker.models import ETLPhase, PhaseStatus
from etl_worker.phases.results import Clock, Outcome, PartResult, Run, RunContext, overall_status, phase_record
from etl_worker.settings import Settings
from etl_worker.tracking import records

log = logging.getLogger(__name__)


def refresh(settings: Settings, ctx: RunContext, run: Run, view: str) -> PartResult:
    """Refresh one analytics view (the views refresh in parallel tasks); its outcome, never an exception."""
    clock = Clock()
    try:
        with transaction(settings.database_url) as conn:
            canonical.refresh_view(conn, view)
    except Exception as exc:
        log.warning("view refresh failed", extra={"view": view, "execution_id": ctx.execution_id})
        return PartResult(run, view, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    return PartResult(run, view, started_at=clock.started_at.isoformat())


def publish(
    settings: Settings, ctx: RunContext, views: list[PartResult], worker: str | None, task_id: str | None
) -> Outcome:
    """The publish phase from its view refreshes: one record, then the execution's outcome."""
    run = views[0].run
    clock = Clock.since(v.started_at for v in views)
    refreshed = [str(v.part) for v in views if not v.error]
    errors = {str(v.part): v.error for v in views if v.error}
    publish_failed = not refreshed
    details = {"refreshed": refreshed, "failed": errors}
    status = PhaseStatus.FAILED if publish_failed else PhaseStatus.SUCCESS
    error = "; ".join(f"{v}: {e}" for v, e in errors.items()) or None
    outcome = Outcome(run, [phase_record(ctx, ETLPhase.PUBLISH, status, clock, worker, details, error, task_id)])
    finish(settings, ctx, outcome, publish_failed)
    return outcome


def finish(settings: Settings, ctx: RunContext, outcome: Outcome, publish_failed: bool = False) -> str:
    """Write the publish record and the execution's outcome in one transaction, so that a finished
    execution is never read without its last phase (the listener writes the same record again, idempotently).
    A finished execution is left as it is; returns the status."""
    run = outcome.run
    status, error = overall_status(run, publish_failed)
    totals = run.totals
    with transaction(settings.database_url) as conn:
        records.write(conn, outcome.records)
        tracking.finish_execution(
            conn,
            ctx.execution_id,
            status,
            total_prospects_loaded=totals.get("prospects", 0),
            total_grades_loaded=totals.get("grades", 0),
            total_measurements_loaded=totals.get("measurements", 0),
            total_stats_loaded=totals.get("stats", 0),
            quality_score=run.quality_score,
            error_summary=error,
        )
    return status
