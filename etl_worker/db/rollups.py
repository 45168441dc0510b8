"""SQL for history retention: per-day rollups of executions, phases and sources, and the prune itself.

The same query computes a day's figures from live history (for ``summary --daily``) and from the
executions about to be pruned (kept in ``etl_daily_rollups``), so both read alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_worker.db.schema import etl_daily_rollups

_FINISHED = "e.status IN ('success', 'partial_success', 'failed')"


def _figures(kind: str, name: str | None, table: str, status: str, duration: str, records: str) -> str:
    """One day's figures of one kind per ``name`` (a column; None: 'all'), from the executions in ``e``
    and, joined to them, ``table``."""
    group = f"e.day, {name}" if name else "e.day"
    return f"""
SELECT e.day AS day, '{kind}' AS kind, {name or "'all'"} AS name, count(*) AS runs,
       count(*) FILTER (WHERE {status} = 'success') AS successes,
       count(*) FILTER (WHERE {status} = 'failed') AS failures,
       count(*) FILTER (WHERE {status} NOT IN ('success', 'failed')) AS others,
       count({duration}) AS timed_runs, coalesce(sum({duration}), 0) AS duration_sum,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY {duration}) AS duration_p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY {duration}) AS duration_p95,
       {records} AS records, max(e.started_at) AS last_started_at
FROM {table} GROUP BY {group}"""


_DAILY = (
    """
WITH e AS (
    SELECT execution_id, started_at, (started_at AT TIME ZONE 'UTC')::date AS day, status, duration_seconds,
           total_prospects_loaded
    FROM etl_executions e WHERE {where}
)"""
    + _figures("execution", None, "e", "e.status", "e.duration_seconds", "coalesce(sum(e.total_prospects_loaded), 0)")
    + "\nUNION ALL"
    + _figures(
        "phase", "p.phase", "etl_phase_runs p JOIN e USING (execution_id)", "p.status", "p.duration_seconds", "0"
    )
    + "\nUNION ALL"
    + _figures(
        "source",
        "t.transformer_type",
        "etl_transformer_runs t JOIN e USING (execution_id)",
        "t.status",
        "t.duration_seconds",
        "coalesce(sum(t.records_processed), 0)",
    )
)

_COLUMNS = [c.name for c in etl_daily_rollups.columns]

# A day rolled up before (an execution of it finished late) adds to its row; the percentiles of the
# two parts are combined by weight, an approximation the note on ``summary --daily`` owns up to.
_KEEP = f"""
INSERT INTO etl_daily_rollups AS r ({", ".join(_COLUMNS)})
{_DAILY.format(where=f"{_FINISHED} AND started_at < :cutoff")}
ON CONFLICT (day, kind, name) DO UPDATE SET
    runs = r.runs + EXCLUDED.runs, successes = r.successes + EXCLUDED.successes,
    failures = r.failures + EXCLUDED.failures, others = r.others + EXCLUDED.others,
    duration_p50 = (coalesce(r.duration_p50 * r.timed_runs, 0) + coalesce(EXCLUDED.duration_p50 * EXCLUDED.timed_runs, 0))
                   / nullif(r.timed_runs + EXCLUDED.timed_runs, 0),
    duration_p95 = (coalesce(r.duration_p95 * r.timed_runs, 0) + coalesce(EXCLUDED.duration_p95 * EXCLUDED.timed_runs, 0))
                   / nullif(r.timed_runs + EXCLUDED.timed_runs, 0),
    timed_runs = r.timed_runs + EXCLUDED.timed_runs, duration_sum = r.duration_sum + EXCLUDED.duration_sum,
    records = r.records + EXCLUDED.records,
    last_started_at = greatest(r.last_started_at, EXCLUDED.last_started_at)
"""

# Every table whose rows belong to one execution's history.
_PRUNED = ("etl_transformer_runs", "etl_phase_runs", "task_deliveries", "quality_metrics", "etl_executions")


def roll_up_and_prune(conn: Connection, cutoff: datetime) -> dict[str, int]:
    """Keep the per-day figures of every finished execution started before ``cutoff``, then delete
    those executions' history; returns the rows deleted per table."""
    conn.execute(sa.text(_KEEP), {"cutoff": cutoff})
    doomed = f"SELECT execution_id FROM etl_executions e WHERE {_FINISHED} AND started_at < :cutoff"
    deleted = {}
    for table in _PRUNED:
        sql = f"DELETE FROM {table} WHERE execution_id IN ({doomed})"
        deleted[table] = conn.execute(sa.text(sql), {"cutoff": cutoff}).rowcount
    return deleted


def daily(conn: Connection, days: int) -> list[dict[str, Any]]:
    """Per-day figures of the last ``days`` days with history, pruned days from the rollups, others live."""
    live = _DAILY.format(where="true")
    kept = f"SELECT {', '.join(_COLUMNS)} FROM etl_daily_rollups"
    sql = (
        f"WITH d AS (({live}) UNION ALL ({kept})), "
        "recent AS (SELECT DISTINCT day FROM d ORDER BY day DESC LIMIT :days) "
        "SELECT d.* FROM d JOIN recent USING (day) ORDER BY day DESC, kind, name"
    )
    return [dict(r._mapping) for r in conn.execute(sa.text(sql), {"days": days})]


def totals(conn: Connection) -> dict[str, Any]:
    """What the rollups add to the summary: runs per outcome, timed runs and their total duration."""
    r = etl_daily_rollups.c
    row = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(r.successes), 0),
            sa.func.coalesce(sa.func.sum(r.failures), 0),
            sa.func.coalesce(sa.func.sum(r.others), 0),
            sa.func.coalesce(sa.func.sum(r.timed_runs), 0),
            sa.func.coalesce(sa.func.sum(r.duration_sum), 0.0),
            sa.func.max(r.last_started_at),
        ).where(r.kind == "execution")
    ).one()
    return {
        "by_status": {"success": int(row[0]), "failed": int(row[1]), "partial_success": int(row[2])},
        "timed_runs": int(row[3]),
        "duration_sum": float(row[4]),
        "last_started_at": row[5],
    }
