"""Resume: an execution the broker lost goes on from PostgreSQL instead of waiting for its deadline.

A broker that loses its data (Redis restarted without persistence, a ``FLUSHALL``, a crash between
the pop of a message and kombu's note that it is unacknowledged) loses the messages of a running
execution: its queued steps, its chord's state, a delivery in flight. Nothing in Celery runs them
again. The reaper (in the listener) looks every few seconds for running executions that recorded
nothing for ``ETL_STALL_SECONDS`` while none of their tasks is queued, unacknowledged or held by a
live worker, and resumes each: the same execution, its canvas rebuilt from the context and plan kept
when it started, from the first phase not recorded as done, transforming only the batches the ledger
does not hold. Every phase is idempotent (batch and load ledgers), so a step that was not lost after
all changes nothing when it runs twice.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery

from etl_worker.db import tracking, work
from etl_worker.db.engine import transaction
from etl_worker.errors import NotFoundError
from etl_worker.models import PHASES, ETLExecution, ETLPhase, PhaseStatus, TransformerStatus
from etl_worker.phases import replay
from etl_worker.phases.results import Batch, Run, RunContext
from etl_worker.pipeline import build_pipeline
from etl_worker.settings import Settings
from etl_worker.taskids import execution_task_ids
from etl_worker.tracking import history

log = logging.getLogger(__name__)


def resume_point(
    execution: ETLExecution, plan: list[Batch], transformed: set[tuple[str, int]]
) -> tuple[str, list[Batch], Run]:
    """Where to go on: the first phase not done, the batches still to transform, what the earlier phases
    handed on. ``transformed`` holds the batches the ledger has as done. A run halted by a failed phase
    goes on after its last recorded phase, so that the rest skip and publish records the outcome."""
    recorded = {p.phase: p for p in execution.phases}
    failed_batches = {
        (t.transformer_type, t.batch_no) for t in execution.transformers if t.status == TransformerStatus.FAILED
    }
    rerun = [b for b in plan if b.key not in transformed and b.key not in failed_batches]
    failed = [p for p in execution.phases if p.status == PhaseStatus.FAILED]
    if failed:
        last = max(PHASES.index(p) for p in recorded)
        start = PHASES[min(last + 1, len(PHASES) - 1)]
        run = replay.carried_run(execution, start).halt(f"{failed[0].phase} failed: {failed[0].error_message}")
        return start, [], run
    done = {name: recorded.get(name) is not None and recorded[name].status == PhaseStatus.SUCCESS for name in PHASES}
    done[ETLPhase.TRANSFORM] = not rerun
    start = next((name for name in PHASES if not done[name]), ETLPhase.PUBLISH)
    return start, rerun, replay.carried_run(execution, start)


def task_ids(execution_id: str, pipeline: dict[str, Any]) -> set[str]:
    """Every task id the execution's canvas may use."""
    return set(execution_task_ids(execution_id, pipeline))


def resume(settings: Settings, app: Celery, execution_id: str, pipeline: dict[str, Any]) -> str:
    """Enqueue the rest of the execution (see the module's docstring); returns the phase it resumes at."""
    plan = [Batch.from_dict(b) for b in pipeline["plan"]]
    ctx = RunContext.from_dict(pipeline["ctx"])
    with transaction(settings.database_url) as conn:
        execution = history.read_execution(conn, execution_id)
        ledger = work.batch_ledger(conn, ctx.extraction_id)
    if execution is None:  # pruned since it was found stalled
        raise NotFoundError(f"execution {execution_id} no longer exists; nothing to resume")
    transformed = {key for key, row in ledger.items() if row["status"] == TransformerStatus.SUCCESS}
    start, rerun, carried = resume_point(execution, plan, transformed)
    with app.connection_for_write() as conn:  # a broker that lost its data lost the queues' bindings too
        for queue in app.amqp.queues.values():
            queue.bind(conn.default_channel).declare()
    build_pipeline(ctx, plan, start, rerun, carried).apply_async()
    with transaction(settings.database_url) as conn:
        tracking.record_resume(conn, execution_id, start)
    log.warning(
        "execution %s made no progress for %s s and none of its tasks is queued or running: resumed at %s",
        execution_id,
        settings.stall_seconds,
        start,
        extra={"execution_id": execution_id},
    )
    return start
