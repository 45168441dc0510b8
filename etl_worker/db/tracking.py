"""SQL for execution history: executions, phase runs and transformer runs, with idempotent upserts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, RowMapping

from etl_worker.db.schema import etl_executions, etl_phase_runs, etl_transformer_runs, extractions, task_deliveries
from etl_worker.errors import RetriableError
from etl_worker.models import ACTIVE_STATUSES, PHASES, ExecutionStatus, PhaseStatus, TransformerStatus

_FINAL_RUN_STATES = (PhaseStatus.SUCCESS, PhaseStatus.FAILED, PhaseStatus.SKIPPED)


def create_execution(
    conn: Connection,
    execution_id: str,
    extraction_id: str,
    transformer_types: list[str],
    timeout_seconds: int,
    batch_size: int,
    hostname: str | None,
    replay_of: str | None = None,
    replay_from: str | None = None,
    requested_by: str | None = None,
) -> str:
    """Record a new pending execution; returns the execution that now owns the extraction.

    Idempotent for the same ``execution_id``. When another execution of the same extraction is still
    active, nothing is written and that execution's id is returned.
    """
    existing = conn.execute(
        sa.select(etl_executions.c.execution_id).where(etl_executions.c.execution_id == execution_id)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    try:
        with conn.begin_nested():
            conn.execute(
                insert(etl_executions).values(
                    execution_id=execution_id,
                    extraction_id=extraction_id,
                    status=ExecutionStatus.PENDING,
                    transformer_types=transformer_types,
                    deadline_at=sa.func.now() + sa.func.make_interval(0, 0, 0, 0, 0, 0, timeout_seconds),
                    batch_size=batch_size,
                    hostname=hostname,
                    replay_of=replay_of,
                    replay_from=replay_from,
                    requested_by=requested_by,
                )
            )
    except sa.exc.IntegrityError:
        owner = conn.execute(
            sa.select(etl_executions.c.execution_id).where(
                etl_executions.c.extraction_id == extraction_id, etl_executions.c.status.in_(ACTIVE_STATUSES)
            )
        ).scalar_one_or_none()
        if owner is None:  # the other execution ended in between: try again
            raise RetriableError(f"extraction {extraction_id} changed hands; retry") from None
        return owner
    return execution_id


def execution_state(conn: Connection, execution_id: str) -> tuple[str, datetime]:
    """(status, deadline) of an execution that exists."""
    t = etl_executions.c
    status, deadline = conn.execute(sa.select(t.status, t.deadline_at).where(t.execution_id == execution_id)).one()
    return status, deadline


def execution_setup(conn: Connection, execution_id: str) -> tuple[list[str], int | None]:
    """(transformer types, batch size) an existing execution ran with."""
    t = etl_executions.c
    types, size = conn.execute(sa.select(t.transformer_types, t.batch_size).where(t.execution_id == execution_id)).one()
    return list(types), size


def execution_status(conn: Connection, execution_id: str, *, lock: bool = False) -> str | None:
    stmt = sa.select(etl_executions.c.status).where(etl_executions.c.execution_id == execution_id)
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).scalar_one_or_none()


def set_plan(conn: Connection, execution_id: str, batches: dict[str, int]) -> None:
    """Record how many transform batches each source was cut into."""
    conn.execute(
        sa.update(etl_executions).where(etl_executions.c.execution_id == execution_id).values(planned_batches=batches)
    )


def planned_batches(conn: Connection, execution_id: str) -> dict[str, int]:
    plan = conn.execute(
        sa.select(etl_executions.c.planned_batches).where(etl_executions.c.execution_id == execution_id)
    ).scalar_one_or_none()
    return dict(plan or {})


def copy_phase_runs(conn: Connection, source: str, target: str, phases: list[str]) -> None:
    """Record phases of ``source`` as done by ``target`` too (a replay reusing them), marked as reused."""
    if not phases:
        return
    conn.execute(
        sa.text(
            "INSERT INTO etl_phase_runs (execution_id, phase, status, started_at, completed_at, duration_seconds, "
            "hostname, details) "
            "SELECT :target, phase, status, now(), now(), 0, hostname, "
            "details || jsonb_build_object('reused_from', CAST(:source AS text)) "
            "FROM etl_phase_runs WHERE execution_id = :source AND phase = ANY(:phases) "
            "ON CONFLICT DO NOTHING"
        ),
        {"source": source, "target": target, "phases": list(phases)},
    )


def mark_running(conn: Connection, execution_id: str, pipeline: dict[str, Any]) -> bool:
    """pending -> running, keeping the canvas (context, plan) it runs; False when no longer pending."""
    return bool(
        conn.execute(
            sa.update(etl_executions)
            .where(etl_executions.c.execution_id == execution_id, etl_executions.c.status == ExecutionStatus.PENDING)
            .values(status=ExecutionStatus.RUNNING, pipeline=pipeline)
        ).rowcount
    )


def stalled_executions(conn: Connection, seconds: float) -> list[tuple[str, dict[str, Any]]]:
    """Running executions with nothing recorded for ``seconds`` (no phase, batch or delivery written,
    no resume), with the canvas they run."""
    x = etl_executions.c
    since = sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, seconds)

    def recent(table: sa.Table, *columns: sa.Column) -> Any:
        return sa.exists().where(table.c.execution_id == x.execution_id, sa.or_(*(c >= since for c in columns)))

    rows = conn.execute(
        sa.select(x.execution_id, x.pipeline).where(
            x.status == ExecutionStatus.RUNNING,
            x.pipeline.is_not(None),
            x.started_at < since,
            sa.or_(x.resumed_at.is_(None), x.resumed_at < since),
            ~recent(etl_phase_runs, etl_phase_runs.c.updated_at),
            ~recent(etl_transformer_runs, etl_transformer_runs.c.updated_at),
            ~recent(task_deliveries, task_deliveries.c.last_at, task_deliveries.c.finished_at),
        )
    )
    return [(r.execution_id, r.pipeline) for r in rows]


def pipeline(conn: Connection, execution_id: str) -> dict[str, Any]:
    """The canvas the execution was started with: its context (``ctx``) and its batches (``plan``, each
    source, batch_no, row_lo, row_hi); {} before it ran."""
    canvas = conn.execute(
        sa.select(etl_executions.c.pipeline).where(etl_executions.c.execution_id == execution_id)
    ).scalar_one_or_none()
    return dict(canvas or {})


def record_end(conn: Connection, execution_id: str, reason: str, batches: dict[str, dict[str, Any]]) -> None:
    """Record every phase and batch of an execution ended outside its chain (cancelled, past its deadline):
    the first phase not finished, and each batch that was running, failed with ``reason``; the phases
    after it and the batches never run skipped. ``batches`` maps each planned batch's task id to it."""
    p, t = etl_phase_runs.c, etl_transformer_runs.c
    phases = dict(conn.execute(sa.select(p.phase, p.status).where(p.execution_id == execution_id)).all())
    extraction_id = conn.execute(
        sa.select(etl_executions.c.extraction_id).where(etl_executions.c.execution_id == execution_id)
    ).scalar_one()
    ended = False
    for phase in PHASES:
        if phases.get(phase) in _FINAL_RUN_STATES:
            continue
        status, error = (PhaseStatus.SKIPPED, f"not run: {reason}") if ended else (PhaseStatus.FAILED, reason)
        ended = True
        upsert_phase_run(conn, {"execution_id": execution_id, "phase": phase, "status": status, "error_message": error})
    runs = dict(conn.execute(sa.select(t.task_id, t.status).where(t.execution_id == execution_id)).all())
    for task_id, batch in batches.items():
        if runs.get(task_id) in _FINAL_RUN_STATES:
            continue
        ran = task_id in runs
        record = {
            "task_id": task_id,
            "execution_id": execution_id,
            "extraction_id": extraction_id,
            "transformer_type": batch["source"],
            "batch_no": batch["batch_no"],
            "row_lo": batch.get("row_lo"),
            "row_hi": batch.get("row_hi"),
            "status": TransformerStatus.FAILED if ran else TransformerStatus.SKIPPED,
            "error_message": reason if ran else f"not run: {reason}",
        }
        upsert_transformer_run(conn, record)


def record_resume(conn: Connection, execution_id: str, phase: str) -> None:
    conn.execute(
        sa.update(etl_executions)
        .where(etl_executions.c.execution_id == execution_id)
        .values(resumes=etl_executions.c.resumes + 1, resumed_at=sa.func.now(), resumed_from=phase)
    )


# Notified with the execution's id when the transaction that ends an execution commits (whoever waits
# for one listens instead of polling).
ENDED_CHANNEL = "etl_execution_ended"


def _announce_ended(conn: Connection, execution_ids: Sequence[str]) -> None:
    if execution_ids:
        conn.execute(
            sa.text("SELECT pg_notify(:channel, id) FROM unnest(CAST(:ids AS text[])) AS id"),
            {"channel": ENDED_CHANNEL, "ids": [str(i) for i in execution_ids]},
        )


def finish_execution(conn: Connection, execution_id: str, status: str, **values: Any) -> bool:
    """Record the outcome of an active execution; a finished one is left as it is."""
    t = etl_executions.c
    finished = conn.execute(
        sa.update(etl_executions)
        .where(t.execution_id == execution_id, t.status.in_(ACTIVE_STATUSES))
        .values(
            status=status,
            completed_at=sa.func.now(),
            duration_seconds=sa.func.extract("epoch", sa.func.now() - t.started_at),
            **values,
        )
    ).rowcount
    if finished:
        _announce_ended(conn, [execution_id])
    return bool(finished)


def fail_overdue(conn: Connection) -> list[str]:
    """Fail every active execution past its deadline (a lost task, a stuck chord); returns their ids."""
    t = etl_executions.c
    result = conn.execute(
        sa.update(etl_executions)
        .where(t.status.in_(ACTIVE_STATUSES), t.deadline_at < sa.func.now())
        .values(
            status=ExecutionStatus.FAILED,
            completed_at=sa.func.now(),
            duration_seconds=sa.func.extract("epoch", sa.func.now() - t.started_at),
            error_summary=sa.func.concat(
                "deadline exceeded: the run did not finish within ",
                sa.cast(sa.func.extract("epoch", t.deadline_at - t.started_at), sa.Integer),
                " s",
            ),
        )
        .returning(t.execution_id)
    )
    expired = [r[0] for r in result]
    _announce_ended(conn, expired)
    return expired


def count_delivery(
    conn: Connection, task_id: str, retry: int, execution_id: str, hostname: str | None, task_name: str | None
) -> int:
    """Count one more delivery of a task (at this retry), started on ``hostname``; returns how many so far."""
    stmt = insert(task_deliveries).values(
        task_id=task_id, retry=retry, execution_id=execution_id, deliveries=1, hostname=hostname, task_name=task_name
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["task_id", "retry"],
        set_={
            "deliveries": task_deliveries.c.deliveries + 1,
            "last_at": sa.func.now(),
            "hostname": hostname,
            "finished_at": None,
        },
    )
    return int(conn.execute(stmt.returning(task_deliveries.c.deliveries)).scalar_one())


def finish_delivery(conn: Connection, task_id: str, retry: int) -> None:
    d = task_deliveries.c
    conn.execute(
        sa.update(task_deliveries).where(d.task_id == task_id, d.retry == retry).values(finished_at=sa.func.now())
    )


def in_flight(conn: Connection, execution_id: str) -> list[dict[str, Any]]:
    """The execution's tasks started and not finished: name, task id, worker, since when; oldest first."""
    d = task_deliveries.c
    rows = conn.execute(
        sa.select(d.task_name, d.task_id, d.hostname, d.last_at.label("since"))
        .where(d.execution_id == execution_id, d.finished_at.is_(None))
        .order_by(d.last_at)
    )
    return [dict(r._mapping) for r in rows]


def unfinished_tasks_started_on(conn: Connection, hostname: str) -> set[str]:
    """Tasks last started on ``hostname`` and not finished there, of executions still pending or running."""
    d, x = task_deliveries.c, etl_executions.c
    rows = conn.execute(
        sa.select(d.task_id)
        .join_from(task_deliveries, etl_executions, d.execution_id == x.execution_id)
        .where(d.hostname == hostname, d.finished_at.is_(None), x.status.in_(ACTIVE_STATUSES))
    )
    return {r[0] for r in rows}


def record_handover(conn: Connection, task_ids: list[str], hostname: str | None) -> None:
    """Note that these tasks were handed back to the queue because ``hostname`` was lost (None: because
    no worker held their messages)."""
    conn.execute(
        sa.update(task_deliveries)
        .where(task_deliveries.c.task_id.in_(task_ids))
        .values(lost_worker=hostname, handed_over_at=sa.func.now(), handovers=task_deliveries.c.handovers + 1)
    )


def _no_regress(table: sa.Table, stmt: Any) -> Any:
    # A late "running" notice must never overwrite a finished record.
    return sa.or_(table.c.status.not_in(_FINAL_RUN_STATES), stmt.excluded.status.in_(_FINAL_RUN_STATES))


def upsert_phase_run(conn: Connection, record: dict[str, Any]) -> None:
    """Write one phase record keyed by (execution, phase)."""
    stmt = insert(etl_phase_runs).values(**record, updated_at=sa.func.now())
    update: dict[str, Any] = {
        k: sa.func.coalesce(stmt.excluded[k], etl_phase_runs.c[k])
        for k in record
        if k not in ("execution_id", "phase", "status", "details", "error_message")
    }
    update |= {
        "status": stmt.excluded.status,
        "details": stmt.excluded.details,
        "error_message": stmt.excluded.error_message,
        "updated_at": sa.func.now(),
    }
    if "details" not in record:
        update.pop("details")
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["execution_id", "phase"], set_=update, where=_no_regress(etl_phase_runs, stmt)
        )
    )


def upsert_transformer_run(conn: Connection, record: dict[str, Any]) -> None:
    """Write one transformer batch record keyed by task id."""
    stmt = insert(etl_transformer_runs).values(**record, updated_at=sa.func.now())
    update: dict[str, Any] = {
        k: sa.func.coalesce(stmt.excluded[k], etl_transformer_runs.c[k])
        for k in record
        if k not in ("task_id", "status", "error_message")
    }
    update |= {
        "status": stmt.excluded.status,
        "error_message": stmt.excluded.error_message,
        "updated_at": sa.func.now(),
    }
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["task_id"], set_=update, where=_no_regress(etl_transformer_runs, stmt)
        )
    )


def get_execution(conn: Connection, execution_id: str) -> tuple[RowMapping, list[RowMapping], list[RowMapping]] | None:
    """The execution row with its phase and transformer rows, or None."""
    row = (
        conn.execute(sa.select(etl_executions).where(etl_executions.c.execution_id == execution_id)).mappings().first()
    )
    if row is None:
        return None
    phases = (
        conn.execute(sa.select(etl_phase_runs).where(etl_phase_runs.c.execution_id == execution_id)).mappings().all()
    )
    transformers = (
        conn.execute(
            sa.select(etl_transformer_runs)
            .where(etl_transformer_runs.c.execution_id == execution_id)
            .order_by(etl_transformer_runs.c.transformer_type, etl_transformer_runs.c.batch_no)
        )
        .mappings()
        .all()
    )
    return row, list(phases), list(transformers)


def handovers(conn: Connection, execution_id: str) -> list[dict[str, Any]]:
    """The execution's tasks that were handed on because their worker was lost, oldest first."""
    d = task_deliveries.c
    rows = conn.execute(
        sa.select(d.task_id, d.lost_worker, d.handed_over_at.label("at"))
        .where(d.execution_id == execution_id, d.handovers > 0)
        .order_by(d.handed_over_at)
    )
    return [dict(r._mapping) for r in rows]


def recent_execution_ids(conn: Connection, limit: int) -> list[str]:
    t = etl_executions.c
    return list(conn.execute(sa.select(t.execution_id).order_by(t.started_at.desc()).limit(limit)).scalars())


def summary(conn: Connection) -> dict[str, Any]:
    """Totals over the executions in history: per-status counts, finished runs with a duration and the
    sum of their durations, the last start."""
    t = etl_executions.c
    by_status = {row[0]: row[1] for row in conn.execute(sa.select(t.status, sa.func.count()).group_by(t.status))}
    timed, total, last = conn.execute(
        sa.select(
            sa.func.count(t.duration_seconds).filter(t.completed_at.is_not(None)),
            sa.func.coalesce(sa.func.sum(t.duration_seconds).filter(t.completed_at.is_not(None)), 0.0),
            sa.func.max(t.started_at),
        )
    ).one()
    return {"by_status": by_status, "timed_runs": int(timed), "duration_sum": float(total), "last_started_at": last}


def progress(conn: Connection, execution_id: str) -> dict[str, Any]:
    """Live progress of an execution: status, finished phases and batches, records transformed, and the
    number of batches planned (once the extract phase is recorded)."""
    row = conn.execute(
        sa.text(
            "SELECT e.status, "
            "(SELECT count(*) FROM etl_phase_runs p WHERE p.execution_id = e.execution_id "
            " AND p.status IN ('success', 'failed', 'skipped')), "
            "(SELECT count(*) FROM etl_transformer_runs t WHERE t.execution_id = e.execution_id "
            " AND t.status IN ('success', 'failed')), "
            "(SELECT coalesce(sum(records_processed), 0) FROM etl_transformer_runs t "
            " WHERE t.execution_id = e.execution_id), "
            "(SELECT sum(b.value::int) FROM etl_phase_runs x, jsonb_each_text(x.details -> 'batches') b "
            " WHERE x.execution_id = e.execution_id AND x.phase = 'extract') "
            "FROM etl_executions e WHERE e.execution_id = :e"
        ),
        {"e": execution_id},
    ).one()
    return {"status": row[0], "phases": row[1], "batches": row[2], "rows": int(row[3]), "planned": row[4]}


def ids_starting_with(conn: Connection, kind: str, prefix: str, limit: int) -> list[str]:
    """Up to ``limit`` execution or extraction ids (``kind``) that start with ``prefix``, newest first."""
    table, column, newest = {
        "execution": (etl_executions, etl_executions.c.execution_id, etl_executions.c.started_at),
        "extraction": (extractions, extractions.c.extraction_id, extractions.c.created_at),
    }[kind]
    text = sa.cast(column, sa.Text)
    stmt = sa.select(text).select_from(table).where(text.startswith(prefix, autoescape=True))
    return list(conn.execute(stmt.order_by(newest.desc()).limit(limit)).scalars())


def finished_phases(conn: Connection, execution_id: str) -> list[dict[str, Any]]:
    """The execution's phases that ended (phase, status, duration_seconds, error_message), in pipeline order."""
    p = etl_phase_runs.c
    rows = conn.execute(
        sa.select(p.phase, p.status, p.duration_seconds, p.error_message).where(
            p.execution_id == execution_id, p.status.in_(_FINAL_RUN_STATES)
        )
    )
    return sorted((dict(r._mapping) for r in rows), key=lambda r: PHASES.index(r["phase"]))


def find_executions(
    conn: Connection,
    statuses: Sequence[str] | None = None,
    extraction_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Executions newest first, narrowed by status, extraction (an id or its prefix) and start time."""
    t = etl_executions.c
    query = sa.select(
        t.execution_id,
        t.extraction_id,
        t.status,
        t.started_at,
        t.completed_at,
        t.duration_seconds,
        t.quality_score,
        t.error_summary,
        t.replay_of,
        t.requested_by,
    )
    if statuses:
        query = query.where(t.status.in_(list(statuses)))
    if extraction_id:
        query = query.where(sa.cast(t.extraction_id, sa.Text).startswith(extraction_id.lower(), autoescape=True))
    if since is not None:
        query = query.where(t.started_at >= since)
    rows = conn.execute(query.order_by(t.started_at.desc()).limit(limit))
    return [{**r._mapping, "execution_id": str(r.execution_id), "extraction_id": str(r.extraction_id)} for r in rows]
