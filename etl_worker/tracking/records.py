"""Turn a Celery result-backend entry of a pipeline task into execution history rows.

SUCCESS entries carry the task's own records (times, worker, counts, details), so a record rebuilt
from a stored result is as complete as one seen live. STARTED entries give a running record; a
FAILURE entry (a hard time limit, a crash) fails the record and the execution, whose chain is broken.
A FAILURE that arrives after the execution ended (its tasks revoked by a cancel, or stopped past the
deadline) changes nothing: whoever ended it recorded every phase and batch (``tracking.record_end``).
Celery's names for a stopped task are translated for the people who read the records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from etl_worker.db import tracking
from etl_worker.models import ACTIVE_STATUSES, ETLStatus, PhaseStatus

PHASE_TASKS = {
    "etl.extract": "extract",
    "etl.validate": "validate",
    "etl.merge": "merge",
    "etl.load": "load",
    "etl.publish": "publish",
}
TRANSFORM_TASK = "etl.transform"
_PHASE_COLUMNS = (
    "execution_id",
    "phase",
    "task_id",
    "status",
    "started_at",
    "completed_at",
    "duration_seconds",
    "hostname",
    "details",
    "error_message",
)
_TRANSFORMER_COLUMNS = (
    "task_id",
    "execution_id",
    "extraction_id",
    "transformer_type",
    "batch_no",
    "row_lo",
    "row_hi",
    "status",
    "started_at",
    "completed_at",
    "duration_seconds",
    "records_processed",
    "records_succeeded",
    "records_failed",
    "hostname",
    "error_message",
)


def _row(record: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    row = {k: record[k] for k in columns if k in record}
    for key in ("started_at", "completed_at"):
        if isinstance(row.get(key), str):
            row[key] = datetime.fromisoformat(row[key])
    return row


# Celery's own words for a task stopped from outside, and what a person reads instead.
_CELERY_ENDINGS = {
    "TaskRevokedError": "revoked: the run was cancelled",
    "ChordError": "not run: a task of the step before it was revoked or crashed",
}


def _exc_type(meta: dict[str, Any]) -> str | None:
    result = meta.get("result")
    return result.get("exc_type") if isinstance(result, dict) else None


def _error(meta: dict[str, Any]) -> str:
    result = meta.get("result")
    if _exc_type(meta) in _CELERY_ENDINGS:
        return _CELERY_ENDINGS[str(_exc_type(meta))]
    if isinstance(result, dict) and "exc_type" in result:
        return f"{result.get('exc_type')}: {result.get('exc_message')}"
    return str(result)


def _live_record(meta: dict[str, Any], status: str) -> tuple[str, dict[str, Any]] | None:
    """A record built from the task's name and arguments, for states that carry no result of ours."""
    kwargs = meta.get("kwargs") or {}
    ctx = kwargs.get("ctx") if isinstance(kwargs, dict) else None
    if not isinstance(ctx, dict):
        return None
    result = meta.get("result")
    worker = meta.get("worker") or (result.get("hostname") if isinstance(result, dict) else None)
    error = _error(meta) if status == PhaseStatus.FAILED else None
    if meta.get("name") == TRANSFORM_TASK:
        batch = kwargs.get("batch") or {}
        return "transformer", {
            "task_id": meta["task_id"],
            "execution_id": ctx["execution_id"],
            "extraction_id": ctx["extraction_id"],
            "transformer_type": batch.get("source"),
            "batch_no": batch.get("batch_no"),
            "row_lo": batch.get("row_lo"),
            "row_hi": batch.get("row_hi"),
            "status": status,
            "hostname": worker,
            "error_message": error,
        }
    return "phase", {
        "execution_id": ctx["execution_id"],
        "phase": PHASE_TASKS[meta["name"]],
        "task_id": meta["task_id"],
        "status": status,
        "hostname": worker,
        "error_message": error,
    }


def write(conn: Connection, records: list[dict[str, Any]]) -> int:
    """Write the phase and transformer records a task returned; returns how many. Idempotent."""
    for record in records:
        if record.get("kind") == "transformer":
            tracking.upsert_transformer_run(conn, _row(record, _TRANSFORMER_COLUMNS))
        else:
            tracking.upsert_phase_run(conn, _row(record, _PHASE_COLUMNS))
    return len(records)


def record_meta(conn: Connection, meta: dict[str, Any]) -> int:
    """Write what one backend entry says; returns how many records it wrote. Idempotent."""
    name, state = meta.get("name"), meta.get("status")
    if name != TRANSFORM_TASK and name not in PHASE_TASKS:
        return 0
    if state == "SUCCESS" and isinstance(meta.get("result"), dict):
        return write(conn, meta["result"].get("records", []))
    status = {"STARTED": PhaseStatus.RUNNING, "RETRY": PhaseStatus.RUNNING, "FAILURE": PhaseStatus.FAILED}.get(
        state or ""
    )
    live = _live_record(meta, status) if status else None
    if live is None:
        return 0
    kind, record = live
    if status == PhaseStatus.FAILED and tracking.execution_status(conn, record["execution_id"]) not in ACTIVE_STATUSES:
        return 0  # a task stopped after its run ended (cancelled, past its deadline): that end is recorded
    if kind == "transformer":
        tracking.upsert_transformer_run(conn, record)
    else:
        tracking.upsert_phase_run(conn, record)
    if status == PhaseStatus.FAILED:
        # The task died outside our own error handling, so its chain is broken: the run has ended.
        what = record.get("phase") or f"transform {record.get('transformer_type')} batch {record.get('batch_no')}"
        tracking.finish_execution(
            conn, record["execution_id"], ETLStatus.FAILED, error_summary=f"{what} crashed: {record['error_message']}"
        )
    return 1
