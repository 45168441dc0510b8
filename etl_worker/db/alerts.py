"""SQL for alerts: what the rules read about an execution, and the alerts table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from etl_worker.db.schema import etl_alerts, etl_executions


def finished_execution(conn: Connection, execution_id: str) -> dict[str, Any] | None:
    """The execution row, if it has an outcome."""
    t = etl_executions.c
    row = conn.execute(
        sa.select(etl_executions).where(t.execution_id == execution_id, t.completed_at.is_not(None))
    ).first()
    return dict(row._mapping) if row is not None else None


def recent_durations(conn: Connection, execution_id: str, window: int) -> list[float]:
    """Durations of the ``window`` runs that finished with success before this one, newest first."""
    t = etl_executions.c
    started = sa.select(t.started_at).where(t.execution_id == execution_id).scalar_subquery()
    result = conn.execute(
        sa.select(t.duration_seconds)
        .where(
            t.execution_id != execution_id,
            t.status == "success",
            t.duration_seconds.is_not(None),
            t.started_at < started,
        )
        .order_by(t.started_at.desc())
        .limit(window)
    )
    return [float(r[0]) for r in result]


def add_alerts(conn: Connection, alerts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Store alerts; one already stored for the same (execution, rule, scope) is kept, not doubled.

    Returns every alert of those executions that some sink has not taken yet (new ones and ones whose
    delivery failed before), oldest first.
    """
    if alerts:
        conn.execute(insert(etl_alerts).on_conflict_do_nothing(), list(alerts))
    executions = sorted({a["execution_id"] for a in alerts})
    if not executions:
        return []
    a = etl_alerts.c
    result = conn.execute(sa.select(etl_alerts).where(a.execution_id.in_(executions)).order_by(a.alert_id))
    return [dict(r._mapping) for r in result]


def set_delivery(conn: Connection, alert_id: int, sink: str, outcome: str) -> None:
    """Record what happened when ``sink`` was given the alert: "delivered" or the error."""
    conn.execute(
        sa.update(etl_alerts)
        .where(etl_alerts.c.alert_id == alert_id)
        .values(deliveries=etl_alerts.c.deliveries.op("||")(sa.func.jsonb_build_object(sink, outcome)))
    )


def recent_alerts(conn: Connection, limit: int, execution_id: str | None = None) -> list[dict[str, Any]]:
    a = etl_alerts.c
    query = (
        sa.select(etl_alerts) if execution_id is None else sa.select(etl_alerts).where(a.execution_id == execution_id)
    )
    result = conn.execute(query.order_by(a.created_at.desc(), a.alert_id.desc()).limit(limit))
    return [dict(r._mapping) for r in result]
