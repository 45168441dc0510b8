"""SQL for the canonical tables: the one atomic load of an extraction, and the analytics views."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert
from sqlalchemy.engine import Connection

from etl_worker.db.schema import (
    MEASUREMENT_FIELDS,
    STAT_FIELDS,
    extraction_loads,
    lineage_links,
    prospect_college_stats,
    prospect_core,
    prospect_grades,
    prospect_measurements,
    work_merged_prospects,
)

VIEWS = ("mv_position_benchmarks", "mv_prospect_quality_scores", "mv_position_statistics")


def _kept(field: str) -> str:
    """True when the incoming value of ``field`` comes from a source at least as trusted as the one the
    row holds (a row loaded before ranks were kept holds none: any value replaces it)."""
    return f"(EXCLUDED.ranks->>'{field}')::int <= coalesce((c.ranks->>'{field}')::int, 2147483647)"


def _better(column: str, field: str) -> str:
    return f"{column} = CASE WHEN {_kept(field)} THEN EXCLUDED.{column} ELSE c.{column} END"


_RANKED = ("full_name", "position", "position_group", "college", "draft")
_UPSERT_PROSPECTS = f"""
INSERT INTO prospect_core AS c (match_key, full_name, name_key, name_keys, surname_key, position, position_group,
                                college, college_key, draft_year, source_ids, draft_round, draft_pick, draft_team,
                                ranks)
SELECT match_key, full_name, name_key, name_keys, surname_key, position, position_group, college, college_key,
       draft_year, source_ids, draft_round, draft_pick, draft_team, ranks
FROM work_merged_prospects WHERE extraction_id = :extraction_id /*only*/
ORDER BY match_key
ON CONFLICT (match_key) DO UPDATE SET
    {_better("full_name", "full_name")},
    {_better("position", "position")},
    {_better("position_group", "position_group")},
    {_better("college", "college")},
    {_better("college_key", "college")},
    name_keys = (
        SELECT jsonb_agg(DISTINCT n ORDER BY n)
        FROM jsonb_array_elements_text(coalesce(c.name_keys, '[]') || EXCLUDED.name_keys) AS n
    ),
    draft_year = coalesce(EXCLUDED.draft_year, c.draft_year),
    source_ids = c.source_ids || EXCLUDED.source_ids,
    {_better("draft_round", "draft")},
    {_better("draft_pick", "draft")},
    {_better("draft_team", "draft")},
    ranks = jsonb_strip_nulls(jsonb_build_object({
    ", ".join(f"'{f}', least((c.ranks->>'{f}')::int, (EXCLUDED.ranks->>'{f}')::int)" for f in _RANKED)
})),
    updated_at = now()
"""

_UPSERT_GRADES = """
INSERT INTO prospect_grades AS t (prospect_id, source, grade_type, grade, scale, grade_normalized, rank,
                                  position_rank, season)
SELECT DISTINCT ON (c.prospect_id, g.source, g.grade_type)
       c.prospect_id, g.source, g.grade_type, g.grade, g.scale, g.grade_normalized, g.rank,
       g.position_rank, g.season
FROM work_grades g
JOIN load_ids c ON c.source = g.source AND c.row_number = g.row_number
WHERE g.extraction_id = :extraction_id AND g.source = ANY(:sources) /*only*/
ORDER BY c.prospect_id, g.source, g.grade_type, g.season DESC NULLS LAST, g.row_number DESC
ON CONFLICT (prospect_id, source, grade_type) DO UPDATE SET
    grade = EXCLUDED.grade, scale = EXCLUDED.scale, grade_normalized = EXCLUDED.grade_normalized,
    rank = EXCLUDED.rank, position_rank = EXCLUDED.position_rank, season = EXCLUDED.season,
    updated_at = now()
"""

_M = ", ".join(MEASUREMENT_FIELDS)
_UPSERT_MEASUREMENTS = f"""
INSERT INTO prospect_measurements AS t (prospect_id, source, {_M})
SELECT DISTINCT ON (c.prospect_id, m.source) c.prospect_id, m.source, {", ".join("m." + f for f in MEASUREMENT_FIELDS)}
FROM work_measurements m
JOIN load_ids c ON c.source = m.source AND c.row_number = m.row_number
WHERE m.extraction_id = :extraction_id AND m.source = ANY(:sources) /*only*/
ORDER BY c.prospect_id, m.source, m.row_number DESC
ON CONFLICT (prospect_id, source) DO UPDATE SET
    {", ".join(f"{f} = EXCLUDED.{f}" for f in MEASUREMENT_FIELDS)}, updated_at = now()
"""

# A season can appear in two stacked tables (passing; rushing and receiving): max() keeps each
# table's own numbers and ignores the NULLs the other table stands for.
_S = ", ".join(STAT_FIELDS)
_UPSERT_STATS = f"""
INSERT INTO prospect_college_stats AS t (prospect_id, source, season, team, {_S})
SELECT c.prospect_id, s.source, s.season, s.team, {", ".join(f"max(s.{f})" for f in STAT_FIELDS)}
FROM work_college_stats s
JOIN load_ids c ON c.source = s.source AND c.row_number = s.row_number
WHERE s.extraction_id = :extraction_id AND s.source = ANY(:sources) /*only*/
GROUP BY c.prospect_id, s.source, s.season, s.team
ORDER BY c.prospect_id, s.source, s.season, s.team
ON CONFLICT (prospect_id, source, season, team) DO UPDATE SET
    {", ".join(f"{f} = EXCLUDED.{f}" for f in STAT_FIELDS)}, updated_at = now()
"""


# The canonical prospect of each record the loaded merge linked, for the fact upserts: joined once here
# instead of once per fact table (lineage_links to prospect_core by match key: a third of the load).
_LOAD_IDS = """
CREATE TEMP TABLE load_ids ON COMMIT DROP AS
SELECT l.source, l.row_number, c.prospect_id
FROM lineage_links l
JOIN prospect_core c ON c.match_key = l.match_key
WHERE l.extraction_id = :extraction_id AND l.execution_id = :merged_by /*only*/
"""


def _only(sql: str, clause: str) -> str:
    """An upsert narrowed to some rows (one record resolved by review) or not at all (the load)."""
    return sql.replace("/*only*/", clause)


_UPSERT_FACTS = (_UPSERT_GRADES, _UPSERT_MEASUREMENTS, _UPSERT_STATS)
_FACT_ALIASES = ("g", "m", "s")


def prospects_by_surnames(conn: Connection, surnames: list[str]) -> list[dict[str, Any]]:
    """Existing prospects with one of these folded surnames (the people new records may join)."""
    c = prospect_core.c
    result = conn.execute(
        sa.select(
            c.match_key,
            c.name_key,
            c.name_keys,
            c.surname_key,
            c.draft_year,
            c.college,
            c.position_group,
            c.source_ids,
        ).where(c.surname_key.in_(surnames))
    )
    return [dict(r._mapping) for r in result]


def prospects_by_keys(conn: Connection, keys: Sequence[str], measured: Sequence[str]) -> list[dict[str, Any]]:
    """The prospects with these match keys, once per source that measured them (once with no
    measurements when none did): what the weighing compares a run's people with."""
    c, m = prospect_core.c, prospect_measurements.c
    stmt = (
        sa.select(
            c.match_key,
            c.full_name,
            c.name_key,
            c.college,
            c.college_key,
            c.position_group,
            c.draft_year,
            c.source_ids,
            m.source,
            *(m[name] for name in measured),
        )
        .select_from(prospect_core.outerjoin(prospect_measurements, m.prospect_id == c.prospect_id))
        .where(c.match_key == sa.any_(sa.bindparam("keys", list(keys), type_=ARRAY(sa.Text))))
        .order_by(c.match_key, m.source)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def claim_load(
    conn: Connection, extraction_id: str, execution_id: str, merged_by: str
) -> tuple[str | None, dict[str, int]]:
    """Take the extraction's ledger row for the merge of ``merged_by``: (None, {}) when taken now, else
    (holder, its counts). The row makes that merge's lineage visible (``data_lineage``).

    The unique key makes a concurrent second load wait for the first and then find the row taken.
    """
    claimed = conn.execute(
        insert(extraction_loads)
        .values(extraction_id=extraction_id, execution_id=execution_id, merged_by=merged_by, counts={})
        .on_conflict_do_nothing()
        .returning(extraction_loads.c.extraction_id)
    ).first()
    if claimed is not None:
        return None, {}
    holder, counts = conn.execute(
        sa.select(extraction_loads.c.execution_id, extraction_loads.c.counts).where(
            extraction_loads.c.extraction_id == extraction_id
        )
    ).one()
    return holder, counts


def take_over_load(conn: Connection, extraction_id: str, holder: str, execution_id: str, merged_by: str) -> str | None:
    """Hand the extraction's ledger row from ``holder`` to ``execution_id`` and the merge of ``merged_by``:
    None when done (as ``claim_load``), else the execution that holds it now."""
    t = extraction_loads.c
    moved = conn.execute(
        sa.update(extraction_loads)
        .where(t.extraction_id == extraction_id, t.execution_id == holder)
        .values(execution_id=execution_id, merged_by=merged_by, loaded_at=sa.func.now())
    ).rowcount
    return None if moved else holder


def load_canonical(conn: Connection, extraction_id: str, merged_by: str, sources: list[str]) -> dict[str, int]:
    """Upsert the rows of ``sources`` merged by the execution ``merged_by`` into the canonical tables;
    returns counts. Their lineage, written by the merge parts, shows once the caller's transaction
    commits ``claim_load``.
    """
    params: dict[str, Any] = {"extraction_id": extraction_id, "sources": sources, "merged_by": merged_by}
    # The upserts sort what they insert; with the default 4 MB they spill to disk from ~50k rows.
    conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))
    counts = {"prospects": conn.execute(sa.text(_only(_UPSERT_PROSPECTS, "")), params).rowcount}
    _link_prospects(conn, params, "")
    for name, sql in zip(("grades", "measurements", "stats"), _UPSERT_FACTS, strict=True):
        counts[name] = conn.execute(sa.text(_only(sql, "")), params).rowcount
    conn.execute(
        sa.update(extraction_loads).where(extraction_loads.c.extraction_id == extraction_id).values(counts=counts)
    )
    conn.execute(
        sa.text("UPDATE extractions SET state = 'loaded', loaded_at = now() WHERE extraction_id = :extraction_id"),
        params,
    )
    return counts


def _link_prospects(conn: Connection, params: dict[str, Any], only: str) -> None:
    """Fill ``load_ids`` (dropped at commit) with the prospect of each record the merge linked."""
    conn.execute(sa.text(_only(_LOAD_IDS, only)), params)
    conn.execute(sa.text("ANALYZE load_ids"))  # temporary tables get no statistics of their own


def prospect(conn: Connection, prospect_id: int) -> dict[str, Any] | None:
    c = prospect_core.c
    row = conn.execute(sa.select(prospect_core).where(c.prospect_id == prospect_id)).mappings().first()
    return dict(row) if row is not None else None


def load_record(
    conn: Connection,
    link: dict[str, Any],
    merged_by: str,
    source_ids: dict[str, str],
    new_person: dict[str, Any] | None,
) -> dict[str, Any]:
    """Load one held record (``link``: extraction_id, block_bucket, source, row_number, match_key, method,
    confidence) onto the person ``match_key``: a new one from ``new_person`` (a merged row), or one already
    in ``prospect_core`` that gains the record's ids. Its lineage joins that of the loaded merge
    ``merged_by``. Returns the prospect id and the rows upserted."""
    params: dict[str, Any] = {
        "extraction_id": link["extraction_id"],
        "sources": [link["source"]],
        "row_number": link["row_number"],
        "match_key": link["match_key"],
        "merged_by": merged_by,
    }
    if new_person is not None:
        conn.execute(insert(work_merged_prospects).values(**new_person))
        conn.execute(sa.text(_only(_UPSERT_PROSPECTS, "AND match_key = :match_key")), params)
    else:
        c = prospect_core.c
        conn.execute(
            sa.update(prospect_core)
            .where(c.match_key == link["match_key"])
            # The ids it has stay: a second listing of one source does not replace the first.
            .values(source_ids=sa.cast(source_ids, JSONB).op("||")(c.source_ids), updated_at=sa.func.now())
        )
    conn.execute(insert(lineage_links).values(**link, execution_id=merged_by))
    _link_prospects(conn, params, "AND l.source = ANY(:sources) AND l.row_number = :row_number")
    counts: dict[str, Any] = {}
    for name, sql, alias in zip(("grades", "measurements", "stats"), _UPSERT_FACTS, _FACT_ALIASES, strict=True):
        counts[name] = conn.execute(sa.text(_only(sql, f"AND {alias}.row_number = :row_number")), params).rowcount
    prospect_id = conn.execute(
        sa.select(prospect_core.c.prospect_id).where(prospect_core.c.match_key == link["match_key"])
    ).scalar_one()
    return {"prospect_id": prospect_id, "loaded": counts}


def analyze(conn: Connection) -> None:
    """Refresh the planner's statistics of the canonical tables: the views read what a load just wrote,
    and planned on stale statistics their joins take minutes instead of seconds."""
    conn.execute(sa.text("ANALYZE prospect_core, prospect_grades, prospect_measurements, prospect_college_stats"))


def drop_unloaded_lineage(conn: Connection, extraction_id: str) -> None:
    """Forget the links of the extraction's merges that its load ledger does not name (a run of an
    extraction loaded before, a replay that did not load): nothing can ever load or show them."""
    links, loads = lineage_links.c, extraction_loads.c
    conn.execute(
        sa.delete(lineage_links).where(
            links.extraction_id == extraction_id,
            loads.extraction_id == extraction_id,
            links.execution_id != loads.merged_by,
        )
    )


def refresh_view(conn: Connection, view: str) -> None:
    """Refresh one analytics view without blocking its readers."""
    if view not in VIEWS:
        raise ValueError(f"not an analytics view: {view!r}")
    conn.execute(sa.text(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {view}"))


def view_rows(conn: Connection, view: str, limit: int = 10) -> list[dict[str, Any]]:
    """The first rows of an analytics view, for reports."""
    if view not in VIEWS:
        raise ValueError(f"not an analytics view: {view!r}")
    return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {view} ORDER BY 1 LIMIT :n"), {"n": limit})]


def prospect_facts(conn: Connection, prospect_id: int) -> dict[str, list[dict[str, Any]]]:
    """A prospect's grades, measurements and college seasons, by table."""
    facts = {}
    for table in (prospect_grades, prospect_measurements, prospect_college_stats):
        rows = conn.execute(sa.select(table).where(table.c.prospect_id == prospect_id).order_by(table.c.id))
        facts[table.name] = [dict(r._mapping) for r in rows]
    return facts


def prospect_lineage(conn: Connection, prospect_id: int) -> list[dict[str, Any]]:
    """The staged records a prospect was merged from: source, file, extraction, row, how it was matched
    and what it shared with the person (``evidence``; none for links merged before it was kept)."""
    return [
        dict(r._mapping)
        for r in conn.execute(
            sa.text(
                """
                SELECT d.source, f.filename, d.extraction_id::text AS extraction_id, d.staging_row,
                       d.match_method, d.match_confidence, d.execution_id::text AS execution_id, d.loaded_at,
                       l.evidence
                FROM data_lineage d
                LEFT JOIN extraction_files f ON f.extraction_id = d.extraction_id AND f.source = d.source
                JOIN extraction_loads x ON x.extraction_id = d.extraction_id
                LEFT JOIN lineage_links l ON l.extraction_id = d.extraction_id AND l.execution_id = x.merged_by
                     AND l.source = d.source AND l.row_number = d.staging_row
                WHERE d.canonical_table = 'prospect_core' AND d.canonical_id = :id
                ORDER BY d.loaded_at, d.source, d.staging_row"""
            ),
            {"id": prospect_id},
        )
    ]


def find_prospects(conn: Connection, name: str, limit: int = 50) -> list[dict[str, Any]]:
    """Prospects whose name contains ``name`` (case-insensitive), by name and class."""
    c = prospect_core.c
    pattern = "%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(
        sa.select(c.prospect_id, c.full_name, c.position, c.college, c.draft_year)
        .where(c.full_name.ilike(pattern))
        .order_by(c.full_name, c.draft_year)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]
