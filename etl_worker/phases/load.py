"""Load: one transaction from the work tables into the canonical tables, and the ledger row that makes the
lineage of the merge it loaded visible.

The ledger row is unique per extraction, so a second load (a redelivery, a concurrent run, a later run
of the same extraction) finds it taken and changes nothing; only a replay of the holder takes it over.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from etl_worker.db import canonical, tracking
from etl_worker.db.engine import transaction
from etl_worker.models import ETLPhase, ExecutionStatus, PhaseStatus
from etl_worker.phases.results import Clock, Outcome, Run, RunContext, phase_record
from etl_worker.settings import Settings


def load(settings: Settings, ctx: RunContext, run: Run, worker: str | None, task_id: str | None) -> Outcome:
    clock = Clock()
    execution_id, extraction_id, merged_by = ctx.execution_id, ctx.extraction_id, ctx.merged_by
    with transaction(settings.database_url) as conn:
        status = tracking.execution_status(conn, execution_id, lock=True)
        if status != ExecutionStatus.RUNNING:
            error = f"execution is {status}; nothing was loaded"
            record = phase_record(ctx, ETLPhase.LOAD, PhaseStatus.FAILED, clock, worker, {}, error, task_id)
            return Outcome(run.halt(f"load refused: {error}"), [record])
        holder, counts = canonical.claim_load(conn, extraction_id, execution_id, merged_by)
        if holder is not None and holder == ctx.replay_of:
            # A replay takes over the load of the execution it replays (which may have loaded some
            # sources only): the upserts write again what is already there and add what is not.
            holder = canonical.take_over_load(conn, extraction_id, holder, execution_id, merged_by)
        if holder is None:
            counts = canonical.load_canonical(conn, extraction_id, merged_by, run.sources_ok(ctx))
            details: dict[str, Any] = {"loaded": counts}
        elif holder == execution_id:
            details = {"loaded": counts, "note": "already committed by this execution"}
        else:
            counts = {}
            details = {"loaded": counts, "note": f"extraction already loaded by execution {holder}; nothing changed"}
        canonical.drop_unloaded_lineage(conn, extraction_id)
    if holder is None:  # loaded now
        with transaction(settings.database_url) as conn:
            canonical.analyze(conn)  # the views read what was just loaded: plan them on fresh statistics
    record = phase_record(ctx, ETLPhase.LOAD, PhaseStatus.SUCCESS, clock, worker, details, task_id=task_id)
    return Outcome(replace(run, totals=counts), [record])
