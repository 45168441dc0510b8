"""SQL for the extraction-scoped work tables: transform batches, the batch ledger and the merge."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg2
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.engine import Connection

from etl_worker.db.schema import (
    WORK_TABLES,
    extraction_loads,
    lineage_links,
    match_reviews,
    quarantined_records,
    transform_batches,
    work_measurements,
    work_merged_prospects,
    work_prospects,
)
from etl_worker.db.staging import copy_rows
from etl_worker.models import TransformerStatus

# What PostgreSQL refuses for a value in one record (out of range, a bad value, a duplicate key), as
# opposed to a fault of the connection or the server, which fails the batch (and is retried).
REFUSED = (psycopg2.DataError, psycopg2.IntegrityError)


def replace_batch(
    conn: Connection,
    extraction_id: str,
    source: str,
    row_lo: int,
    row_hi: int,
    records: Sequence[tuple[int, Mapping[str, Sequence[dict[str, Any]]]]],
) -> dict[int, str]:
    """Replace a batch's work and quarantine rows, so a re-run batch never duplicates.

    ``records`` holds, per record, its row number and the rows it contributes, as a map of work-table
    name (or ``quarantined_records``) to rows as dicts of column values. All are written in one COPY
    per table; when PostgreSQL refuses that, each record is written alone and the ones it refuses are
    left out: returns their row numbers, each with PostgreSQL's reason (the caller quarantines them).
    """
    for table in (*WORK_TABLES, quarantined_records):
        conn.execute(
            sa.delete(table).where(
                table.c.extraction_id == extraction_id,
                table.c.source == source,
                table.c.row_number.between(row_lo, row_hi),
            )
        )
    try:
        with conn.begin_nested():
            write_rows(conn, [rows for _, rows in records])
        return {}
    except REFUSED:
        pass
    refused = {}
    for row_number, rows in records:
        try:
            with conn.begin_nested():
                write_rows(conn, [rows])
        except REFUSED as exc:
            refused[row_number] = str(exc).strip().splitlines()[0]
    return refused


def write_rows(conn: Connection, records: Sequence[Mapping[str, Sequence[dict[str, Any]]]]) -> None:
    """COPY the work and quarantine rows of ``records`` (maps of table name to rows), a table at a time."""
    for table in (*WORK_TABLES, quarantined_records):
        table_rows = [row for rows in records for row in rows.get(table.name, ())]
        if table_rows:
            columns = [c.name for c in table.columns if c.server_default is None]
            copy_rows(conn, table, columns, (tuple(map(row.get, columns)) for row in table_rows))


TRANSFORMED = (*WORK_TABLES, quarantined_records)  # the tables transform writes (validate reads them)
MERGED = (lineage_links, work_merged_prospects)  # the tables merge writes (load reads them)


def analyze(conn: Connection, tables: Sequence[sa.Table]) -> None:
    """Refresh the planner's statistics of tables a phase just filled by COPY: without statistics the
    planner picks nested loops that turn seconds into minutes.

    Only the pipeline's own joins read these statistics, and they need sizes, not fine histograms: a
    sample of 3,000 rows per table instead of 30,000 (1.2-2.6 s -> 0.13 s for the work tables at
    1,000,000 rows, on the serial path, with the same plans).
    """
    conn.execute(sa.text("SET LOCAL default_statistics_target = 10"))
    conn.execute(sa.text(f"ANALYZE {', '.join(t.name for t in tables)}"))
    conn.execute(sa.text("SET LOCAL default_statistics_target TO DEFAULT"))


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
            where=sa.or_(
                transform_batches.c.status != TransformerStatus.SUCCESS,
                stmt.excluded.status == TransformerStatus.SUCCESS,
            ),
        )
    )


def batch_ledger(conn: Connection, extraction_id: str) -> dict[tuple[str, int], dict[str, Any]]:
    """Every batch recorded for the extraction, by (source, batch number)."""
    result = conn.execute(sa.select(transform_batches).where(transform_batches.c.extraction_id == extraction_id))
    return {(r.source, r.batch_no): dict(r._mapping) for r in result}


def all_batches_done(conn: Connection, extraction_id: str, plan: Mapping[str, int]) -> bool:
    """Whether the ledger holds every batch of ``plan`` (batches per source) as transformed."""
    ledger = batch_ledger(conn, extraction_id)
    wanted = [(source, n) for source, count in plan.items() for n in range(count)]
    return bool(wanted) and all(ledger.get(key, {}).get("status") == TransformerStatus.SUCCESS for key in wanted)


def mark_shared_ids(conn: Connection, extraction_id: str, sources: list[str]) -> dict[str, tuple[int, int]]:
    """Mark the extraction's records whose source id another record of it also carries (an id error in
    the export: the merge does not join by it); per source, (records marked, records with an id).

    Once per extraction, in validate, instead of once per merge part over the whole extraction.
    """
    result = conn.execute(
        sa.text(
            """
            WITH ids AS (
                SELECT source, source_player_id, count(*) AS n FROM work_prospects
                WHERE extraction_id = :x AND source = ANY(:sources) AND source_player_id IS NOT NULL
                GROUP BY source, source_player_id
            ), marked AS (
                UPDATE work_prospects w SET id_shared = true FROM ids
                WHERE ids.n > 1 AND w.extraction_id = :x AND w.source = ids.source
                  AND w.source_player_id = ids.source_player_id AND NOT w.id_shared
            )
            SELECT source, coalesce(sum(n) FILTER (WHERE n > 1), 0), sum(n) FROM ids GROUP BY source
            """
        ),
        {"x": extraction_id, "sources": sources},
    )
    return {source: (int(shared), int(total)) for source, shared, total in result}


def prospect_blocks(
    conn: Connection,
    extraction_id: str,
    sources: list[str],
    buckets: tuple[int, int],
    columns: Sequence[str],
    page: int = 5000,
) -> Iterator[list[dict[str, Any]]]:
    """``columns`` (and the bucket and folded surname) of the extraction's work prospects in ``buckets``
    [low, high), in pages of whole surname blocks, by keyset on (bucket, folded surname). Memory stays
    bounded by ``page`` rows plus the largest block.
    """
    wp = work_prospects.c
    names = list(dict.fromkeys([*columns, "block_bucket", "surname_key"]))
    base = sa.select(*(wp[name] for name in names)).where(
        wp.extraction_id == extraction_id,
        wp.block_bucket >= buckets[0],
        wp.block_bucket < buckets[1],
        wp.source.in_(sources),
    )
    order = (wp.block_bucket, wp.surname_key, wp.name_key, wp.source, wp.row_number)
    after: tuple[int, str] | None = None
    while True:
        stmt = base if after is None else base.where(sa.tuple_(wp.block_bucket, wp.surname_key) > after)
        rows = [dict(zip(names, r, strict=True)) for r in conn.execute(stmt.order_by(*order).limit(page))]
        if len(rows) < page:
            if rows:
                yield rows
            return
        last = (rows[-1]["block_bucket"], rows[-1]["surname_key"])
        rows = [r for r in rows if (r["block_bucket"], r["surname_key"]) != last]
        block = base.where(wp.block_bucket == last[0], wp.surname_key == last[1])
        rows += [dict(zip(names, r, strict=True)) for r in conn.execute(block.order_by(*order))]
        yield rows
        after = last


def loaded_links(
    conn: Connection, extraction_id: str, buckets: tuple[int, int]
) -> dict[tuple[str, int], dict[str, Any]]:
    """The links of the merge the extraction's committed load loaded, for the blocks in ``buckets``:
    (source, row) -> match key, method, confidence and evidence. Empty before the extraction is loaded."""
    link = lineage_links.c
    rows = conn.execute(
        sa.select(link.source, link.row_number, link.match_key, link.method, link.confidence, link.evidence)
        .select_from(
            lineage_links.join(
                extraction_loads,
                sa.and_(
                    extraction_loads.c.extraction_id == link.extraction_id,
                    extraction_loads.c.merged_by == link.execution_id,
                ),
            )
        )
        .where(link.extraction_id == extraction_id, link.block_bucket >= buckets[0], link.block_bucket < buckets[1])
    )
    return {
        (r.source, r.row_number): {
            "match_key": r.match_key,
            "method": r.method,
            "confidence": r.confidence,
            "evidence": r.evidence or {},
        }
        for r in rows
    }


def clear_resolution(conn: Connection, extraction_id: str, execution_id: str, buckets: tuple[int, int]) -> None:
    """Forget an earlier resolution of the blocks in ``buckets`` (a merge part that runs again starts
    clean), and the lineage ``execution_id`` wrote for them. Review items stay: ``write_resolution``
    keeps the ones held again (with their ids) and ``keep_reviews`` drops the rest."""
    lineage = lineage_links.c
    conn.execute(
        sa.delete(lineage_links).where(
            lineage.extraction_id == extraction_id,
            lineage.execution_id == execution_id,
            lineage.block_bucket >= buckets[0],
            lineage.block_bucket < buckets[1],
        )
    )
    m = work_merged_prospects.c
    conn.execute(
        sa.delete(work_merged_prospects).where(
            m.extraction_id == extraction_id, m.block_bucket >= buckets[0], m.block_bucket < buckets[1]
        )
    )


def write_resolution(
    conn: Connection,
    links: Sequence[dict[str, Any]],
    merged: Sequence[dict[str, Any]],
    reviews: Sequence[dict[str, Any]],
) -> None:
    """Add one page of links (the lineage of the execution that merged) and merged prospects, and hold
    the review items: a record held before keeps its review id (what an operator types)."""
    for table, rows in ((lineage_links, links), (work_merged_prospects, merged)):
        if rows:
            columns = [c.name for c in table.columns if c.server_default is None]
            copy_rows(conn, table, columns, (tuple(map(row.get, columns)) for row in rows))
    if reviews:
        stmt = insert(match_reviews)
        held_again = {c: stmt.excluded[c] for c in ("full_name", "draft_year", "reason", "candidates", "weighed")}
        conn.execute(
            stmt.on_conflict_do_update(index_elements=["extraction_id", "source", "row_number"], set_=held_again),
            list(reviews),
        )


def keep_reviews(
    conn: Connection, extraction_id: str, buckets: tuple[int, int], held: set[tuple[str, int]], weighed: bool
) -> None:
    """Drop the extraction's review items in ``buckets`` whose records (source, row) are no longer held:
    the ones the merge parts held (``weighed`` False), or the ones the weighing after them held."""
    wp, r = work_prospects.c, match_reviews.c
    conn.execute(
        sa.delete(match_reviews).where(
            r.extraction_id == extraction_id,
            r.weighed.is_(weighed),
            wp.extraction_id == extraction_id,
            wp.source == r.source,
            wp.row_number == r.row_number,
            wp.block_bucket >= buckets[0],
            wp.block_bucket < buckets[1],
            sa.tuple_(r.source, r.row_number).not_in(sorted(held)),
        )
    )


def linked_records(
    conn: Connection, extraction_id: str, execution_id: str, measured: Sequence[str], keys: Sequence[str]
) -> list[dict[str, Any]]:
    """The records the execution's merge linked to the people ``keys``, as the weighing reads them: the
    person's match key, the record's work prospect columns and its ``measured`` measurements."""
    link, wp, wm = lineage_links.c, work_prospects.c, work_measurements.c
    on = {"extraction_id", "source", "row_number"}
    stmt = (
        sa.select(
            link.match_key,
            link.method,
            wp.source,
            wp.row_number,
            wp.full_name,
            wp.name_key,
            wp.college,
            wp.college_key,
            wp.position_group,
            wp.draft_year,
            wp.source_player_id,
            wp.other_ids,
            *(wm[name] for name in measured),
        )
        .select_from(
            lineage_links.join(work_prospects, sa.and_(*(link[c] == wp[c] for c in on))).outerjoin(
                work_measurements, sa.and_(*(wm[c] == wp[c] for c in on))
            )
        )
        .where(
            link.extraction_id == extraction_id,
            link.execution_id == execution_id,
            link.match_key == sa.any_(sa.bindparam("keys", list(keys), type_=ARRAY(sa.Text))),
        )
        .order_by(link.match_key, wp.source, wp.row_number)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def link_figures(conn: Connection, extraction_id: str, execution_id: str) -> tuple[dict[str, int], int]:
    """How many records the execution's merge linked, by method, and onto how many people."""
    link = lineage_links.c
    where = (link.extraction_id == extraction_id, link.execution_id == execution_id)
    stmt = sa.select(link.method, sa.func.count()).where(*where).group_by(link.method).order_by(link.method)
    methods = {method: int(n) for method, n in conn.execute(stmt)}
    people = conn.execute(sa.select(sa.func.count(sa.distinct(link.match_key))).where(*where)).scalar_one()
    return methods, int(people)


def merged_rows(conn: Connection, extraction_id: str, keys: Sequence[str]) -> list[dict[str, Any]]:
    """The extraction's merged prospects with these match keys, and those of every person with rows in
    several blocks: each row once, by key and block."""
    m = work_merged_prospects.c
    several = (
        sa.select(m.match_key).where(m.extraction_id == extraction_id).group_by(m.match_key).having(sa.func.count() > 1)
    )
    stmt = sa.select(work_merged_prospects).where(
        m.extraction_id == extraction_id, sa.or_(m.match_key.in_(list(keys)), m.match_key.in_(several))
    )
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(m.match_key, m.block_bucket))]


def fold_people(
    conn: Connection,
    extraction_id: str,
    execution_id: str,
    relinked: Sequence[dict[str, Any]],
    gone: Sequence[str],
    merged: Sequence[dict[str, Any]],
) -> None:
    """Rewrite people after the merge parts: links move (``relinked``: absorbed, into, score, facts each;
    into None drops them: the records are held), the merged rows of ``gone`` and of every person in
    ``merged`` are replaced by ``merged``."""
    link, m = lineage_links.c, work_merged_prospects.c
    where = (link.extraction_id == extraction_id, link.execution_id == execution_id)
    moved = [r for r in relinked if r["into"] is not None]
    if moved:
        conn.execute(
            sa.update(lineage_links)
            .where(*where, link.match_key == sa.bindparam("absorbed"))
            .values(
                match_key=sa.bindparam("into"),
                method="weighed",
                confidence=sa.bindparam("score"),
                evidence=sa.bindparam("facts", type_=lineage_links.c.evidence.type),
            ),
            moved,
        )
    dropped = sorted(r["absorbed"] for r in relinked if r["into"] is None)
    if dropped:
        conn.execute(sa.delete(lineage_links).where(*where, link.match_key.in_(dropped)))
    keys = sorted({*gone, *(r["match_key"] for r in merged)})
    conn.execute(sa.delete(work_merged_prospects).where(m.extraction_id == extraction_id, m.match_key.in_(keys)))
    if merged:
        conn.execute(sa.insert(work_merged_prospects), list(merged))


# The blocks of etl_worker.phases.weigh._blocks, in SQL, for the draft-class records of a run and the loaded
# prospects of their classes: a key (hashed) per class, school or 10 lb weight bin (two bins, one shifted by
# 5 lb), and first name or surname. A block counts when it holds someone of this run and either a loaded
# prospect or two people whose sources differ; its people are the candidates.
_WEIGHING_KEYS = """
WITH rec AS (
    SELECT l.match_key, w.source, w.draft_year, w.name_key, w.surname_key, w.college_key, m.weight_lb
    FROM lineage_links l
    JOIN work_prospects w
      ON w.extraction_id = l.extraction_id AND w.source = l.source AND w.row_number = l.row_number
    LEFT JOIN work_measurements m
      ON m.extraction_id = w.extraction_id AND m.source = w.source AND m.row_number = w.row_number
    WHERE l.extraction_id = :extraction_id AND l.execution_id = :execution_id
),
people AS (
    SELECT match_key, false AS loaded, string_agg(DISTINCT source, ',') AS sources FROM rec GROUP BY match_key
),
loaded AS (
    SELECT c.match_key, c.draft_year, c.name_key, c.surname_key, c.college_key, m.weight_lb
    FROM prospect_core c LEFT JOIN prospect_measurements m ON m.prospect_id = c.prospect_id
    WHERE c.draft_year IN (SELECT DISTINCT draft_year FROM rec WHERE source <> ALL(:seasons))
      AND NOT EXISTS (SELECT 1 FROM people p WHERE p.match_key = c.match_key)
),
records AS (
    SELECT match_key, false AS loaded, draft_year, name_key, surname_key, college_key, weight_lb
    FROM rec WHERE source <> ALL(:seasons) AND draft_year IS NOT NULL
    UNION ALL
    SELECT match_key, true, draft_year, name_key, surname_key, college_key, weight_lb FROM loaded
),
keyed AS (
    SELECT DISTINCT r.match_key, r.loaded, hashtextextended(concat_ws('|', r.draft_year, p.place, w.word), 0) AS key
    FROM records r
    CROSS JOIN LATERAL (VALUES ('c' || r.college_key),
                               ('w0' || floor(r.weight_lb / 10)),
                               ('w1' || floor((r.weight_lb + 5) / 10))) AS p(place)
    CROSS JOIN LATERAL (VALUES ('f' || split_part(r.name_key, ' ', 1)), ('s' || r.surname_key)) AS w(word)
    WHERE p.place IS NOT NULL
),
blocks AS (
    SELECT k.key
    FROM keyed k LEFT JOIN people p ON p.match_key = k.match_key
    GROUP BY k.key
    HAVING bool_or(NOT k.loaded) AND (min(p.sources) <> max(p.sources) OR bool_or(k.loaded))
)
SELECT DISTINCT k.match_key, k.loaded FROM keyed k WHERE k.key IN (SELECT key FROM blocks)
"""


def weighing_candidates(
    conn: Connection, extraction_id: str, execution_id: str, seasons: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The people of the execution's merge, and the loaded prospects of their classes, that share a block
    of the weighing with someone they may be (``etl_worker.phases.weigh``): only they are read and weighed."""
    params = {"extraction_id": extraction_id, "execution_id": execution_id, "seasons": list(seasons)}
    conn.execute(sa.text("SET LOCAL work_mem = '128MB'"))  # a big run's keys are grouped in memory, not on disk
    found = conn.execute(sa.text(_WEIGHING_KEYS), params).all()
    return sorted(k for k, loaded in found if not loaded), sorted(k for k, loaded in found if loaded)
