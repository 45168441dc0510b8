"""Merge: resolve the work prospects of the sources that transformed into one row per person."""

from __future__ import annotations

from typing import Any

from etl_worker.db import work
from etl_worker.db.engine import transaction
from etl_worker.models import ETLPhase, PhaseStatus
from etl_worker.phases.results import Clock, phase_record, skipped, sources_ok
from etl_worker.settings import Settings


def merge(
    settings: Settings, ctx: dict[str, Any], previous: dict[str, Any], worker: str | None, task_id: str | None
) -> dict[str, Any]:
    run = previous["run"]
    if run["halted"]:
        return skipped(ctx, ETLPhase.MERGE, run, worker, task_id)
    clock = Clock()
    with transaction(settings.database_url) as conn:
        details = work.resolve_exact(conn, ctx["extraction_id"], sources_ok(ctx, run))
    record = phase_record(ctx, ETLPhase.MERGE, PhaseStatus.SUCCESS, clock, worker, details, task_id=task_id)
    return {"run": run, "records": [record]}
