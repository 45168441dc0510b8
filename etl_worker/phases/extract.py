"""Extract: create the execution, count staging rows per source and plan the transform batches."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from etl_worker.db import staging, tracking
from etl_worker.db.engine import transaction
from etl_worker.errors import FatalError
from etl_worker.models import ETLPhase, ETLStatus, PhaseStatus
from etl_worker.phases.results import Batch, Clock, halt, new_run, phase_record, plan_batches
from etl_worker.settings import Settings
from etl_worker.sources import REGISTRY, get_source

log = logging.getLogger(__name__)


@dataclass
class Started:
    """What ``run_extraction`` did: started a pipeline, found one running, or failed the run at once."""

    execution_id: str
    status: str
    message: str | None = None
    ctx: dict[str, Any] | None = None
    plan: list[Batch] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "status": self.status,
            "message": self.message,
            "batches": len(self.plan),
        }


def start_execution(
    settings: Settings,
    execution_id: str,
    extraction_id: str,
    transformer_types: list[str] | None,
    worker: str | None,
) -> Started:
    """Record the execution and plan its batches.

    Another active execution of the same extraction is joined, not doubled; an unknown or empty
    extraction fails the execution with one clear message; a redelivered call for an execution that
    already started does nothing.
    """
    sources = sorted({get_source(t).name for t in transformer_types} if transformer_types else REGISTRY)
    with transaction(settings.database_url) as conn:
        owner = tracking.create_execution(conn, execution_id, extraction_id, sources, settings.timeout_seconds, worker)
        if owner != execution_id:
            message = f"extraction {extraction_id} is already being run by execution {owner}"
            log.warning(message, extra={"extraction_id": extraction_id, "execution_id": owner})
            return Started(owner, "joined", message)
        status, deadline = tracking.execution_state(conn, execution_id)
        if status != "pending":
            return Started(execution_id, "already_started" if status == "running" else status)
        try:
            staging.extraction_state(conn, extraction_id)
        except FatalError as exc:
            tracking.finish_execution(conn, execution_id, ETLStatus.FAILED, error_summary=str(exc))
            return Started(execution_id, ETLStatus.FAILED, str(exc))
        batches = plan_batches(staging.staging_counts(conn, extraction_id, sources), settings.max_records_per_batch)
        if not batches:
            message = f"extraction {extraction_id} has no staged rows for {', '.join(sources)}"
            tracking.finish_execution(conn, execution_id, ETLStatus.FAILED, error_summary=message)
            return Started(execution_id, ETLStatus.FAILED, message)
        plan: dict[str, int] = {}
        for batch in batches:
            plan[batch.source] = plan.get(batch.source, 0) + 1
        tracking.set_plan(conn, execution_id, plan)
    ctx = {
        "execution_id": execution_id,
        "extraction_id": extraction_id,
        "sources": sources,
        "deadline": deadline.isoformat(),
    }
    return Started(execution_id, "started", None, ctx, batches)


def mark_started(settings: Settings, execution_id: str) -> None:
    """The pipeline is enqueued: pending -> running (a redelivered ``run_extraction`` then does nothing)."""
    with transaction(settings.database_url) as conn:
        tracking.mark_running(conn, execution_id)


def extract(
    settings: Settings, ctx: dict[str, Any], plan: list[dict[str, Any]], worker: str | None, task_id: str | None
) -> dict[str, Any]:
    """Count the staged rows and check they are still what the batches were planned from."""
    clock = Clock()
    run = new_run()
    with transaction(settings.database_url) as conn:
        counts = staging.staging_counts(conn, ctx["extraction_id"], ctx["sources"])
    planned: dict[str, int] = {}
    for batch in map(Batch.from_dict, plan):
        planned[batch.source] = planned.get(batch.source, 0) + batch.row_hi - batch.row_lo + 1
    details = {
        "staging_counts": {s: c[0] for s, c in counts.items()},
        "batches": {s: sum(1 for b in plan if b["source"] == s) for s in ctx["sources"]},
    }
    changed = [s for s in ctx["sources"] if counts[s][0] != planned.get(s, 0)]
    if changed:
        error = f"staging rows of {', '.join(changed)} changed after the run was planned"
        record = phase_record(ctx, ETLPhase.EXTRACT, PhaseStatus.FAILED, clock, worker, details, error, task_id)
        return {"run": halt(run, f"extract failed: {error}"), "records": [record]}
    record = phase_record(ctx, ETLPhase.EXTRACT, PhaseStatus.SUCCESS, clock, worker, details, task_id=task_id)
    return {"run": run, "records": [record]}
