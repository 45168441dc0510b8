"""SQL for the validate phase: what the data-quality rules measure, and where their results go."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from etl_worker.db.schema import (
    MEASUREMENT_FIELDS,
    quality_metrics,
    quarantined_records,
    transform_batches,
    work_measurements,
    work_prospects,
)


def source_volumes(conn: Connection, extraction_id: str, sources: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per source: records processed, transformed and quarantined in this extraction."""
    sources = list(sources)
    tb = transform_batches.c
    rows = conn.execute(
        sa.select(tb.source, sa.func.sum(tb.records_processed), sa.func.sum(tb.records_succeeded))
        .where(tb.extraction_id == extraction_id, tb.source.in_(sources), tb.status == "success")
        .group_by(tb.source)
    )
    volumes = {s: {"processed": 0, "succeeded": 0, "quarantined": 0} for s in sources}
    for source, processed, succeeded in rows:
        volumes[source].update(processed=int(processed), succeeded=int(succeeded))
    q = quarantined_records.c
    for source, quarantined in conn.execute(
        sa.select(q.source, sa.func.count())
        .where(q.extraction_id == extraction_id, q.source.in_(sources))
        .group_by(q.source)
    ):
        volumes[source]["quarantined"] = int(quarantined)
    return volumes


def field_completeness(conn: Connection, extraction_id: str, sources: Iterable[str], column: str) -> dict[str, float]:
    """Per source: the share (0-1) of work prospects with ``column`` filled."""
    col = work_prospects.c[column]
    wp = work_prospects.c
    result = conn.execute(
        sa.select(wp.source, sa.func.avg(sa.case((col.is_not(None), 1.0), else_=0.0)))
        .where(wp.extraction_id == extraction_id, wp.source.in_(list(sources)))
        .group_by(wp.source)
    )
    return {source: float(share) for source, share in result}


def out_of_range_share(
    conn: Connection, extraction_id: str, sources: Iterable[str], field: str, low: float, high: float
) -> tuple[int, float]:
    """How many measured values of ``field`` fall outside ``low``..``high``, and their share of measured."""
    if field not in MEASUREMENT_FIELDS:
        raise ValueError(f"not a measurement field: {field!r}")
    col = work_measurements.c[field]
    wm = work_measurements.c
    measured, outside = conn.execute(
        sa.select(sa.func.count(col), sa.func.count().filter(sa.not_(col.between(low, high)))).where(
            wm.extraction_id == extraction_id, wm.source.in_(list(sources)), col.is_not(None)
        )
    ).one()
    return int(outside), (outside / measured if measured else 0.0)


def store_metrics(conn: Connection, execution_id: str, extraction_id: str, metrics: list[dict[str, Any]]) -> None:
    """Replace the execution's quality metrics with ``metrics``."""
    conn.execute(sa.delete(quality_metrics).where(quality_metrics.c.execution_id == execution_id))
    if metrics:
        conn.execute(
            insert(quality_metrics),
            [{**m, "execution_id": execution_id, "extraction_id": extraction_id} for m in metrics],
        )


def flagged_metrics(conn: Connection, execution_id: str) -> list[dict[str, Any]]:
    """The execution's rules that warned or failed."""
    q = quality_metrics.c
    result = conn.execute(
        sa.select(q.rule, q.scope, q.status, q.value, q.warn_threshold, q.fail_threshold)
        .where(q.execution_id == execution_id, q.status != "pass")
        .order_by(q.status, q.rule, q.scope)
    )
    return [dict(r._mapping) for r in result]


def quarantine_summary(conn: Connection, extraction_id: str) -> list[tuple[str, str, int]]:
    """Quarantined rows of an extraction by (source, rule)."""
    q = quarantined_records.c
    result = conn.execute(
        sa.select(q.source, q.rule, sa.func.count())
        .where(q.extraction_id == extraction_id)
        .group_by(q.source, q.rule)
        .order_by(sa.func.count().desc())
    )
    return [(r[0], r[1], int(r[2])) for r in result]
