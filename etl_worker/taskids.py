"""The task ids of an execution's steps, derived from the execution id (no broker or Celery needed).

Enqueuing the same execution twice gives the same task ids: tracking records and the batch ledger then
see one task, not two; whoever tracks a run (the listener, the orchestrator) names its tasks without
building its canvas.
"""

from __future__ import annotations

import uuid
from typing import Any

from etl_worker.db.canonical import VIEWS
from etl_worker.phases.results import RunContext

_NAMESPACE = uuid.UUID("8f7c1f38-9d1e-4a57-9f5e-2c0f5b0e1d11")


def task_id(execution_id: str, *parts: object) -> str:
    """The stable task id of one step of an execution."""
    return str(uuid.uuid5(_NAMESPACE, ":".join([execution_id, *map(str, parts)])))


def execution_task_ids(execution_id: str, pipeline: dict[str, Any]) -> list[str]:
    """The task ids of an execution's steps, given the canvas it was started with (its context and batch
    plan, as ``tracking.pipeline`` keeps it; {} for one that never started)."""
    phases = [task_id(execution_id, p) for p in ("extract", "validate", "merge", "load", "publish", "alert")]
    phases += [task_id(execution_id, "publish", view) for view in VIEWS]
    if not pipeline:
        return phases
    planned = int(pipeline["ctx"].get("merge_parts", RunContext.merge_parts))
    parts = [task_id(execution_id, "merge", part) for part in range(planned)]
    batches = [task_id(execution_id, "transform", b["source"], b["batch_no"]) for b in pipeline["plan"]]
    return phases + parts + batches


def batch_tasks(execution_id: str, plan: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The planned batches (as dicts) by the task id of their transform."""
    return {task_id(execution_id, "transform", b["source"], b["batch_no"]): b for b in plan}
