"""The canvas of one execution, built by one pure function (no broker needed to build or inspect it).

    extract -> chord([transform(source, batch) ...], validate) -> chord([merge_part(i) ...], merge)
            -> load -> chord([refresh_view(view) ...], publish) -> alert

The number of merge parts is planned with the batches (``RunContext.merge_parts``); every task id is
derived from the execution id (etl_worker.taskids). The context, plan and carried run go into the
signatures as dicts (Celery's JSON); the tasks turn them back into their types.
"""

from __future__ import annotations

from typing import Any

from celery import chain, chord
from celery.canvas import Signature

from etl_worker.celery_app import app
from etl_worker.db.canonical import VIEWS
from etl_worker.models import PHASES
from etl_worker.phases.results import Batch, Outcome, Run, RunContext
from etl_worker.taskids import task_id


def _step(name: str, task_id: str, immutable: bool = False, **kwargs: Any) -> Signature:
    return app.signature(f"etl.{name}", kwargs=kwargs, immutable=immutable, task_id=task_id)


def build_pipeline(
    run_ctx: RunContext,
    plan: list[Batch],
    start: str = "extract",
    rerun: list[Batch] | None = None,
    carried: Run | None = None,
) -> Signature:
    """The whole run as one Celery signature; ``plan`` holds every (source, batch) of the extraction.

    A replay starts at ``start``, transforms only ``rerun`` (default: every batch of ``plan``) and hands
    its first step ``carried``, what the reused phases handed on in the original execution.
    """
    eid, ctx = run_ctx.execution_id, run_ctx.as_dict()
    plan_dicts = [b.as_dict() for b in plan]
    rerun = plan if rerun is None else rerun
    position = PHASES.index(start)
    first: dict[str, Any] = {"previous": Outcome(carried or Run()).as_dict()}
    steps: list[Signature] = []
    if start == "extract":
        steps.append(_step("extract", task_id(eid, "extract"), immutable=True, ctx=ctx, plan=plan_dicts))
    if position <= PHASES.index("validate"):
        if position <= PHASES.index("transform") and rerun:
            parent: dict[str, Any] = {} if steps else first
            header = [
                _step(
                    "transform", task_id(eid, "transform", b.source, b.batch_no), ctx=ctx, batch=b.as_dict(), **parent
                )
                for b in rerun
            ]
            steps.append(chord(header, _step("validate", task_id(eid, "validate"), ctx=ctx, plan=plan_dicts)))
        else:  # every batch is done already: validate reads them from the ledger
            steps.append(_step("validate", task_id(eid, "validate"), results=[], ctx=ctx, plan=plan_dicts))
    if position <= PHASES.index("merge"):
        parent = {} if steps else first
        parts = range(run_ctx.merge_parts)
        header = [_step("merge_part", task_id(eid, "merge", i), ctx=ctx, part=i, **parent) for i in parts]
        steps.append(chord(header, _step("merge", task_id(eid, "merge"), ctx=ctx)))
    if position <= PHASES.index("load"):
        steps.append(_step("load", task_id(eid, "load"), ctx=ctx, **({} if steps else first)))
    parent = {} if steps else first
    header = [_step("refresh_view", task_id(eid, "publish", v), ctx=ctx, view=v, **parent) for v in VIEWS]
    steps.append(chord(header, _step("publish", task_id(eid, "publish"), ctx=ctx)))
    steps.append(_step("alert", task_id(eid, "alert"), execution_id=eid))
    return chain(*steps)


def alert_signature(execution_id: str, reason: str) -> Signature:
    """Evaluate the alerts of an execution that ended outside its chain (cancelled, past its deadline)."""
    return _step("alert", task_id(execution_id, "alert", reason), execution_id=execution_id)


def enqueue_deadline_alerts(execution_id: str) -> None:
    """Have a worker raise the alerts of an execution failed for passing its deadline."""
    alert_signature(execution_id, "deadline").apply_async()


def run_signature(extraction_id: str, execution_id: str, transformer_types: list[str] | None = None) -> Signature:
    """A run that nobody waits for (the scheduler, the drop folder); its execution id is ``execution_id``."""
    return app.signature(
        "etl.run_extraction",
        args=[extraction_id],
        kwargs={"transformer_types": transformer_types},
        task_id=execution_id,
    )
