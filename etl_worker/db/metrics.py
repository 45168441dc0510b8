"""SQL for the pipeline's metrics: what Prometheus reads, derived at scrape time from the history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def executions_by_status(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.text("SELECT status, count(*) FROM etl_executions GROUP BY status"))
    return {status: int(count) for status, count in rows}


def phase_durations(conn: Connection, buckets: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Per phase, of the phase records that ended: cumulative counts at or under each bucket, the count
    and the sum of their durations (a Prometheus histogram)."""
    cumulative = ", ".join(f"count(*) FILTER (WHERE p.duration_seconds <= {float(b)!r})" for b in buckets)
    rows = conn.execute(
        sa.text(
            f"SELECT p.phase, {cumulative}, count(*), coalesce(sum(p.duration_seconds), 0) FROM etl_phase_runs p "
            "JOIN etl_executions e USING (execution_id) "  # of this deployment's executions only
            "WHERE p.status IN ('success', 'failed') AND p.duration_seconds IS NOT NULL GROUP BY p.phase"
        )
    )
    result = {}
    for row in rows:
        phase, *counts, total, seconds = row
        result[phase] = {"buckets": [int(c) for c in counts], "count": int(total), "sum": float(seconds)}
    return result


def rows_by_source(conn: Connection) -> dict[str, dict[str, int]]:
    """Records staged, transformed and quarantined per source, over every extraction."""
    figures: dict[str, dict[str, int]] = {}
    queries = {
        "staged": "SELECT source, sum(row_count) FROM extraction_files GROUP BY source",
        "transformed": "SELECT source, sum(records_succeeded) FROM transform_batches WHERE status = 'success' "
        "GROUP BY source",
        "quarantined": "SELECT source, count(*) FROM quarantined_records GROUP BY source",
    }
    for kind, sql in queries.items():
        for source, count in conn.execute(sa.text(sql)):
            figures.setdefault(kind, {})[source] = int(count or 0)
    return figures


def rows_loaded(conn: Connection) -> dict[str, int]:
    """Rows the committed loads upserted, per canonical table."""
    row = conn.execute(
        sa.text(
            "SELECT coalesce(sum((counts->>'prospects')::int), 0), coalesce(sum((counts->>'grades')::int), 0), "
            "coalesce(sum((counts->>'measurements')::int), 0), coalesce(sum((counts->>'stats')::int), 0) "
            "FROM extraction_loads"
        )
    ).one()
    return dict(zip(("prospects", "grades", "measurements", "stats"), map(int, row), strict=True))


def latest_quality(conn: Connection) -> dict[str, Any] | None:
    """The quality score and rule verdicts of the latest execution that validated."""
    row = conn.execute(
        sa.text(
            "SELECT execution_id, quality_score FROM etl_executions WHERE quality_score IS NOT NULL "
            "ORDER BY started_at DESC LIMIT 1"
        )
    ).first()
    if row is None:
        return None
    verdicts = conn.execute(
        sa.text("SELECT status, count(*) FROM quality_metrics WHERE execution_id = :e GROUP BY status"),
        {"e": row[0]},
    )
    return {"score": float(row[1]), "rules": {status: int(count) for status, count in verdicts}}


def redeliveries(conn: Connection) -> int:
    """Deliveries of a task beyond its first: its worker died, or the broker handed it out again."""
    return int(conn.execute(sa.text("SELECT coalesce(sum(deliveries - 1), 0) FROM task_deliveries")).scalar_one())
