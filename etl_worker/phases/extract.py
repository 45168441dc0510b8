"""Extract: create the execution, count staging rows per source and plan the transform batches."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from etl_worker import rules
from etl_worker.db import staging, tracking, work
from etl_worker.db.engine import transaction
from etl_worker.errors import ConfigurationError, FatalError
from etl_worker.models import PHASES, ETLPhase, ETLStatus, ExecutionStatus, PhaseStatus, TransformerStatus
from etl_worker.phases import replay
from etl_worker.phases.results import (
    Batch,
    Clock,
    Outcome,
    Run,
    RunContext,
    phase_record,
    plan_batches,
    plan_merge_parts,
)
from etl_worker.settings import Settings
from etl_worker.sources import for_run, get_source, registry
from etl_worker.tracking import history

log = logging.getLogger(__name__)


@dataclass
class Started:
    """What ``run_extraction`` did: started a pipeline, found one running, or failed the run at once."""

    execution_id: str
    status: str
    message: str | None = None
    ctx: RunContext | None = None
    plan: list[Batch] = field(default_factory=list)
    start: str = ETLPhase.EXTRACT  # a replay starts later ...
    rerun: list[Batch] | None = None  # ... transforms only these batches ...
    carried: Run | None = None  # ... and hands on what the reused phases did
    merged_by: str | None = None  # the execution whose merge it loads, when it reuses one

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
    replay_of: str | None = None,
    from_phase: str | None = None,
    adapters: dict[str, str] | None = None,
    rule_names: list[str] | None = None,
    requested_by: str | None = None,
) -> Started:
    """Record the execution and plan its batches.

    Another active execution of the same extraction is joined, not doubled; an unknown or empty
    extraction, or a plug-in (``adapters`` per source, ``rule_names``) this worker cannot import, fails
    the execution with one clear message; a redelivered call for an execution that already started does
    nothing. A replay (``replay_of``, ``from_phase``) reuses the phases of that execution before ``from_phase``.
    """
    sources = sorted({get_source(t).name for t in transformer_types} if transformer_types else registry())
    with transaction(settings.database_url) as conn:
        owner = tracking.create_execution(
            conn,
            execution_id,
            extraction_id,
            sources,
            settings.timeout_seconds,
            settings.max_records_per_batch,
            worker,
            replay_of,
            from_phase,
            requested_by,
        )
        if owner != execution_id:
            message = f"extraction {extraction_id} is already being run by execution {owner}"
            log.warning(message, extra={"extraction_id": extraction_id, "execution_id": owner})
            return Started(owner, "joined", message)
        status, deadline = tracking.execution_state(conn, execution_id)
        if status != ExecutionStatus.PENDING:
            return Started(execution_id, "already_started" if status == ExecutionStatus.RUNNING else status)
        try:
            _check_plugins(adapters, rule_names, worker)
            staging.extraction_state(conn, extraction_id)
            batches = plan_batches(staging.staging_counts(conn, extraction_id, sources), settings.max_records_per_batch)
            if not batches:
                raise FatalError(f"extraction {extraction_id} has no staged rows for {', '.join(sources)}")
            per_source: dict[str, int] = {}  # batches per source: what the execution records as its plan
            for batch in batches:
                per_source[batch.source] = per_source.get(batch.source, 0) + 1
            tracking.set_plan(conn, execution_id, per_source)
            started = Started(execution_id, "started", None, None, batches)
            if replay_of is not None:
                started = _replay(conn, started, extraction_id, replay_of, from_phase or ETLPhase.EXTRACT, per_source)
        except (FatalError, ConfigurationError) as exc:
            tracking.finish_execution(conn, execution_id, ETLStatus.FAILED, error_summary=str(exc))
            return Started(execution_id, ETLStatus.FAILED, str(exc))
    reused = [p for p in PHASES if PHASES.index(p) < PHASES.index(started.start)]
    if started.rerun == [] and started.start == ETLPhase.TRANSFORM:
        reused.append(ETLPhase.TRANSFORM)
    started.ctx = RunContext(
        execution_id=execution_id,
        extraction_id=extraction_id,
        sources=tuple(sources),
        deadline=deadline,
        merged_by=started.merged_by or execution_id,
        merge_parts=plan_merge_parts(
            sum(b.row_hi - b.row_lo + 1 for b in started.plan), settings.max_records_per_batch
        ),
        replay_of=replay_of,
        adapters=adapters or {},
        rules=None if rule_names is None else tuple(rule_names),
        reused=tuple(reused),
    )
    return started


def _check_plugins(adapters: dict[str, str] | None, rule_names: list[str] | None, worker: str | None) -> None:
    """Every adapter and rule the run names imports here, on this worker."""
    try:
        for source, path in (adapters or {}).items():
            for_run(source, {source: path})
        rules.load_rules(rule_names)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{exc} (on worker {worker})") from None


def _replay(
    conn: Connection,
    started: Started,
    extraction_id: str,
    replay_of: str,
    from_phase: str,
    per_source: dict[str, int],
) -> Started:
    """Plan a replay: check the original can be resumed at ``from_phase`` and copy the phases it reuses."""
    original = history.read_execution(conn, replay_of)
    if original is None or original.extraction_id != extraction_id:
        raise ConfigurationError(f"execution {replay_of} is not an execution of extraction {extraction_id}")
    original_plan = tracking.planned_batches(conn, replay_of)
    reused = replay.check(original, from_phase, work.all_batches_done(conn, extraction_id, original_plan))
    if reused and original_plan != per_source:
        raise FatalError(f"the staged rows changed since execution {replay_of}: replay from extract")
    started.start, started.carried = from_phase, replay.carried_run(original, from_phase)
    if from_phase == ETLPhase.TRANSFORM:
        ledger = work.batch_ledger(conn, extraction_id)
        done = {key for key, row in ledger.items() if row["status"] == TransformerStatus.SUCCESS}
        started.rerun = [b for b in started.plan if b.key not in done]
    if PHASES.index(from_phase) > PHASES.index(ETLPhase.MERGE):
        started.merged_by = tracking.pipeline(conn, replay_of).get("ctx", {}).get("merged_by") or replay_of
    # Validate writes the transform record (from the ledger) of a replay that reuses the transform.
    tracking.copy_phase_runs(conn, replay_of, started.execution_id, [p for p in reused if p != ETLPhase.TRANSFORM])
    return started


def mark_started(settings: Settings, started: Started) -> None:
    """The pipeline is enqueued: pending -> running (a redelivered ``run_extraction`` then does nothing).
    Its context and plan are kept, to resume it if the broker loses it (etl_worker.ops.resume)."""
    assert started.ctx is not None, "only a started run has a pipeline"
    pipeline = {"ctx": started.ctx.as_dict(), "plan": [b.as_dict() for b in started.plan]}
    with transaction(settings.database_url) as conn:
        tracking.mark_running(conn, started.execution_id, pipeline)


def extract(settings: Settings, ctx: RunContext, plan: list[Batch], worker: str | None, task_id: str | None) -> Outcome:
    """Count the staged rows and check they are still what the batches were planned from."""
    clock = Clock()
    with transaction(settings.database_url) as conn:
        counts = staging.staging_counts(conn, ctx.extraction_id, list(ctx.sources))
    planned: dict[str, int] = {}
    for batch in plan:
        planned[batch.source] = planned.get(batch.source, 0) + batch.row_hi - batch.row_lo + 1
    details = {
        "staging_counts": {s: c[0] for s, c in counts.items()},
        "batches": {s: sum(1 for b in plan if b.source == s) for s in ctx.sources},
    }
    changed = [s for s in ctx.sources if counts[s][0] != planned.get(s, 0)]
    if changed:
        error = f"staging rows of {', '.join(changed)} changed after the run was planned"
        record = phase_record(ctx, ETLPhase.EXTRACT, PhaseStatus.FAILED, clock, worker, details, error, task_id)
        return Outcome(Run().halt(f"extract failed: {error}"), [record])
    record = phase_record(ctx, ETLPhase.EXTRACT, PhaseStatus.SUCCESS, clock, worker, details, task_id=task_id)
    return Outcome(Run(), [record])
