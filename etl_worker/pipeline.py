"""The canvas of one execution, built by one pure function (no broker needed to build or inspect it).

    extract -> chord([transform(source, batch) ...], validate) -> merge -> load -> publish -> alert

Every task id is derived from the execution id, so enqueuing the same execution twice gives the same
task ids: tracking records and the batch ledger then see one task, not two.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from celery import chain, chord
from celery.canvas import Signature

from etl_worker.celery_app import app
from etl_worker.phases.results import Batch

_NAMESPACE = uuid.UUID("8f7c1f38-9d1e-4a57-9f5e-2c0f5b0e1d11")


def task_id(execution_id: str, *parts: object) -> str:
    """The stable task id of one step of an execution."""
    return str(uuid.uuid5(_NAMESPACE, ":".join([execution_id, *map(str, parts)])))


def execution_task_ids(execution_id: str, batches: Iterable[tuple[str, int]]) -> list[str]:
    """The task ids of an execution's steps, given the (source, batch number) pairs it may have planned."""
    phases = [task_id(execution_id, p) for p in ("extract", "validate", "merge", "load", "publish", "alert")]
    return phases + [task_id(execution_id, "transform", source, batch_no) for source, batch_no in batches]


def _step(name: str, task_id: str, immutable: bool = False, **kwargs: Any) -> Signature:
    return app.signature(f"etl.{name}", kwargs=kwargs, immutable=immutable, task_id=task_id)


def build_pipeline(ctx: dict[str, Any], plan: list[Batch]) -> Signature:
    """The whole run as one Celery signature; ``plan`` holds every (source, batch) to transform."""
    eid = ctx["execution_id"]
    plan_dicts = [b.as_dict() for b in plan]
    header = [
        _step("transform", task_id(eid, "transform", b.source, b.batch_no), ctx=ctx, batch=b.as_dict()) for b in plan
    ]
    return chain(
        _step("extract", task_id(eid, "extract"), immutable=True, ctx=ctx, plan=plan_dicts),
        chord(header, _step("validate", task_id(eid, "validate"), ctx=ctx, plan=plan_dicts)),
        _step("merge", task_id(eid, "merge"), ctx=ctx),
        _step("load", task_id(eid, "load"), ctx=ctx),
        _step("publish", task_id(eid, "publish"), ctx=ctx),
        _step("alert", task_id(eid, "alert"), execution_id=eid),
    )


def alert_signature(execution_id: str, reason: str) -> Signature:
    """Evaluate the alerts of an execution that ended outside its chain (cancelled, past its deadline)."""
    return _step("alert", task_id(execution_id, "alert", reason), execution_id=execution_id)
