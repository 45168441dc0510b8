"""SQL for the validate phase: what the data-quality rules measure, and where their results go."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from etl_worker.db.schema import (
    MEASUREMENT_FIELDS,
    extraction_files,
    quality_metrics,
    quarantined_records,
    transform_batches,
    work_measurements,
    work_prospects,
)
from etl_worker.models import TransformerStatus


def source_volumes(conn: Connection, extraction_id: str, sources: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per source: records processed, transformed and quarantined in this extraction."""
    sources = list(sources)
    tb = transform_batches.c
    rows = conn.execute(
        sa.select(tb.source, sa.func.sum(tb.records_processed), sa.func.sum(tb.records_succeeded))
        .where(tb.extraction_id == extraction_id, tb.source.in_(sources), tb.status == TransformerStatus.SUCCESS)
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


def unaccounted_rows(conn: Connection, extraction_id: str, sources: Iterable[str]) -> dict[str, float]:
    """Per source: records staged from the file that are neither transformed nor quarantined (0 when
    every one is). Ingest checked that the staging table holds every record read (COPY's count), so the
    file's count stands for the staged rows without reading them again.
    """
    sql = """
        SELECT (SELECT coalesce(sum(row_count), 0) FROM extraction_files
                 WHERE extraction_id = :x AND source = :source),
               (SELECT count(*) FROM work_prospects WHERE extraction_id = :x AND source = :source)
             + (SELECT count(*) FROM quarantined_records WHERE extraction_id = :x AND source = :source)
    """
    result = {}
    for source in sources:
        staged, accounted = conn.execute(sa.text(sql), {"x": extraction_id, "source": source}).one()
        result[source] = float(abs(staged - accounted))
    return result


def completeness(
    conn: Connection, extraction_id: str, sources: Iterable[str], table: sa.Table, column: str
) -> dict[str, float]:
    """Per source: the share (0-1) of the extraction's rows of ``table`` with ``column`` filled."""
    if table not in (work_prospects, work_measurements):
        raise ValueError(f"not a work table with fields to check: {table.name}")
    col = table.c[column]
    result = conn.execute(
        sa.select(table.c.source, sa.func.avg(sa.case((col.is_not(None), 1.0), else_=0.0)))
        .where(table.c.extraction_id == extraction_id, table.c.source.in_(list(sources)))
        .group_by(table.c.source)
    )
    return {source: float(share) for source, share in result}


def out_of_range_by_group(
    conn: Connection,
    extraction_id: str,
    sources: Iterable[str],
    checks: Mapping[str, Mapping[str | None, tuple[float, float]]],
) -> dict[str, dict[str, float]]:
    """Per measurement field of ``checks`` and position group: the share of its measured values outside
    the group's plausible range (``ranges[None]``: groups not listed). One scan for every field."""
    unknown = [f for f in checks if f not in MEASUREMENT_FIELDS]
    if unknown:
        raise ValueError(f"not a measurement field: {unknown[0]!r}")
    m, p = work_measurements.c, work_prospects.c

    def bound(ranges: Mapping[str | None, tuple[float, float]], index: int) -> Any:
        default = sa.literal(ranges[None][index])
        whens = [(p.position_group == g, limits[index]) for g, limits in ranges.items() if g]
        return sa.case(*whens, else_=default) if whens else default

    fields = list(checks)
    shares = [
        sa.func.avg(sa.case((m[f].between(bound(checks[f], 0), bound(checks[f], 1)), 0.0), else_=1.0)).filter(
            m[f].is_not(None)
        )
        for f in fields
    ]
    group = sa.func.coalesce(p.position_group, "unknown")
    result = conn.execute(
        sa.select(group, *shares)
        .select_from(
            work_measurements.join(
                work_prospects,
                (m.extraction_id == p.extraction_id) & (m.source == p.source) & (m.row_number == p.row_number),
            )
        )
        .where(m.extraction_id == extraction_id, m.source.in_(list(sources)))
        .group_by(group)
    )
    out: dict[str, dict[str, float]] = {f: {} for f in fields}
    for row in result:
        for f, share in zip(fields, row[1:], strict=True):
            if share is not None:  # the group has values of this field
                out[f][row[0]] = float(share)
    return out


def weight_disagreement(
    conn: Connection, extraction_id: str, first: str, second: str, tolerance: float
) -> float | None:
    """Among people in both sources (same folded name and class), the share whose weights differ by more
    than ``tolerance`` lb; None when the sources share nobody."""
    row = conn.execute(
        sa.text(
            """
            WITH a AS MATERIALIZED (
                SELECT p.name_key, p.draft_year, m.weight_lb
                FROM work_prospects p JOIN work_measurements m USING (extraction_id, source, row_number)
                WHERE p.extraction_id = :extraction_id AND p.source = :first AND m.weight_lb IS NOT NULL
            ), b AS MATERIALIZED (
                SELECT p.name_key, p.draft_year, m.weight_lb
                FROM work_prospects p JOIN work_measurements m USING (extraction_id, source, row_number)
                WHERE p.extraction_id = :extraction_id AND p.source = :second AND m.weight_lb IS NOT NULL
            )
            SELECT count(*) FILTER (WHERE abs(a.weight_lb - b.weight_lb) > :tolerance)::float, count(*)
            FROM a JOIN b USING (name_key, draft_year)
            """
        ),
        {"extraction_id": extraction_id, "first": first, "second": second, "tolerance": tolerance},
    ).one()
    return row[0] / row[1] if row[1] else None


def volume_drop(conn: Connection, extraction_id: str, sources: Iterable[str]) -> dict[str, float]:
    """Per source: how far the staged row count fell (0-1) against the previous extraction of that source."""
    f = extraction_files.c
    drops = {}
    for source in sources:
        current = conn.execute(
            sa.select(f.row_count, f.ingested_at).where(f.extraction_id == extraction_id, f.source == source)
        ).first()
        if current is None:
            continue
        previous = conn.execute(
            sa.select(f.row_count)
            .where(f.source == source, f.extraction_id != extraction_id, f.ingested_at < current.ingested_at)
            .order_by(f.ingested_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if previous:
            drops[source] = max(0.0, (previous - current.row_count) / previous)
    return drops


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


def quarantined_rows(conn: Connection, extraction_id: str, limit: int) -> list[dict[str, Any]]:
    """The extraction's quarantined rows, in source file order."""
    q = quarantined_records.c
    result = conn.execute(
        sa.select(q.source, q.row_number, q.rule, q.reason, q.record)
        .where(q.extraction_id == extraction_id)
        .order_by(q.source, q.row_number)
        .limit(limit)
    )
    return [dict(r._mapping) for r in result]


def execution_metrics(conn: Connection, execution_id: str) -> list[dict[str, Any]]:
    """Every rule result of an execution, worst first."""
    q = quality_metrics.c
    order = sa.case((q.status == "fail", 0), (q.status == "warn", 1), else_=2)
    result = conn.execute(
        sa.select(q.rule, q.scope, q.status, q.value, q.warn_threshold, q.fail_threshold)
        .where(q.execution_id == execution_id)
        .order_by(order, q.rule, q.scope)
    )
    return [dict(r._mapping) for r in result]
