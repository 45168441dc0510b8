"""SQL for the extraction-scoped work tables: transform batches, the batch ledger and the merge."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from etl_worker.db.schema import (
    WORK_TABLES,
    quarantined_records,
    transform_batches,
    work_links,
    work_merged_prospects,
    work_prospects,
)
from etl_worker.db.staging import copy_rows


def replace_batch(
    conn: Connection,
    extraction_id: str,
    source: str,
    row_lo: int,
    row_hi: int,
    rows: Mapping[str, Sequence[dict[str, Any]]],
) -> None:
    """Replace a batch's work and quarantine rows, so a re-run batch never duplicates.

    ``rows`` maps a work-table name (or ``quarantined_records``) to rows as dicts of column values.
    """
    for table in (*WORK_TABLES, quarantined_records):
        conn.execute(
            sa.delete(table).where(
                table.c.extraction_id == extraction_id,
                table.c.source == source,
                table.c.row_number.between(row_lo, row_hi),
            )
        )
        batch_rows = rows.get(table.name)
        if batch_rows:
            columns = [c.name for c in table.columns if c.server_default is None]
            copy_rows(conn, table, columns, (tuple(row.get(c) for c in columns) for row in batch_rows))


def record_batch(conn: Connection, **values: Any) -> None:
    """Upsert one row of the batch ledger: (extraction, source, batch) -> status and counts.

    A batch that succeeded once stays succeeded: a late failure report of a duplicate never hides it.
    """
    stmt = insert(transform_batches).values(**values, updated_at=sa.func.now())
    keys = ("extraction_id", "source", "batch_no")
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={k: stmt.excluded[k] for k in values if k not in keys} | {"updated_at": sa.func.now()},
            where=sa.or_(transform_batches.c.status != "success", stmt.excluded.status == "success"),
        )
    )


def batch_ledger(conn: Connection, extraction_id: str) -> dict[tuple[str, int], dict[str, Any]]:
    """Every batch recorded for the extraction, by (source, batch number)."""
    result = conn.execute(sa.select(transform_batches).where(transform_batches.c.extraction_id == extraction_id))
    return {(r.source, r.batch_no): dict(r._mapping) for r in result}


def resolve_exact(conn: Connection, extraction_id: str, sources: Iterable[str]) -> dict[str, int]:
    """Link each work prospect of ``sources`` to a match key and merge them into one row per person.

    The key is the folded name, draft year and college: records that agree on all three are one person;
    anything less certain stays apart.
    """
    sources = sorted(sources)
    for table in (work_links, work_merged_prospects):
        conn.execute(sa.delete(table).where(table.c.extraction_id == extraction_id))
    wp = work_prospects.c
    match_key = sa.func.concat_ws(
        "|", wp.name_key, sa.func.coalesce(sa.cast(wp.draft_year, sa.Text), "?"), sa.func.coalesce(wp.college_key, "?")
    )
    linked = conn.execute(
        insert(work_links).from_select(
            ["extraction_id", "source", "row_number", "match_key", "method", "confidence"],
            sa.select(
                wp.extraction_id, wp.source, wp.row_number, match_key, sa.literal("name_year_college"), sa.literal(1.0)
            ).where(wp.extraction_id == extraction_id, wp.source.in_(sources)),
        )
    ).rowcount
    merged = conn.execute(
        sa.text(
            """
            INSERT INTO work_merged_prospects (extraction_id, match_key, full_name, name_key, position,
                position_group, college, draft_year, source_ids, source_records)
            SELECT l.extraction_id, l.match_key,
                   (array_agg(p.full_name ORDER BY p.source, p.row_number))[1],
                   (array_agg(p.name_key ORDER BY p.source, p.row_number))[1],
                   (array_agg(p.position ORDER BY p.position IS NULL, p.source, p.row_number))[1],
                   (array_agg(p.position_group ORDER BY p.position_group IS NULL, p.source, p.row_number))[1],
                   (array_agg(p.college ORDER BY p.college IS NULL, p.source, p.row_number))[1],
                   max(p.draft_year),
                   coalesce(jsonb_object_agg(p.source, p.source_player_id)
                            FILTER (WHERE p.source_player_id IS NOT NULL), '{}'::jsonb),
                   count(*)
            FROM work_links l
            JOIN work_prospects p USING (extraction_id, source, row_number)
            WHERE l.extraction_id = :extraction_id
            GROUP BY l.extraction_id, l.match_key
            """
        ),
        {"extraction_id": extraction_id},
    ).rowcount
    return {"records_linked": linked, "prospects_merged": merged}
