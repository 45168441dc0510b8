"""SQL for records held for review and the decisions that resolve them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from etl_worker.db.schema import extraction_loads, match_reviews, prospect_core, review_decisions, work_prospects

_WP = work_prospects.c


def _record_key() -> sa.ColumnElement[str]:
    """A source record's identity across extractions: its source id, else its name, class and college."""
    return sa.case(
        (_WP.source_player_id.is_not(None), sa.func.concat("id:", _WP.source_player_id)),
        else_=sa.func.concat(
            "name:",
            _WP.name_key,
            "|",
            sa.func.coalesce(sa.cast(_WP.draft_year, sa.Text), "?"),
            "|",
            sa.func.coalesce(_WP.college_key, ""),
        ),
    )


def _joined() -> sa.FromClause:
    r = match_reviews.c
    return match_reviews.join(
        work_prospects,
        sa.and_(_WP.extraction_id == r.extraction_id, _WP.source == r.source, _WP.row_number == r.row_number),
    )


def held(conn: Connection, review_id: int) -> dict[str, Any] | None:
    """A held record with its work row, locked until the caller's transaction ends; None if no such review."""
    r = match_reviews.c
    stmt = (
        sa.select(r.review_id, r.reason, r.candidates, work_prospects)
        .select_from(_joined())
        .where(r.review_id == review_id)
        .with_for_update(of=match_reviews)
    )
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def loaded_merge(conn: Connection, extraction_id: str) -> str | None:
    """The merge the extraction's committed load loaded (its ledger row locked), or None if not loaded."""
    t = extraction_loads.c
    return conn.execute(
        sa.select(t.merged_by).where(t.extraction_id == extraction_id).with_for_update()
    ).scalar_one_or_none()


def resolve(
    conn: Connection, review_id: int, decision: str, match_key: str, decided_by: str, reason: str | None
) -> None:
    """Keep the decision by the record's identity (a later one replaces it) and close the review."""
    r = match_reviews.c
    chosen = (
        sa.select(
            _WP.source,
            _record_key(),
            sa.literal(decision),
            sa.literal(match_key),
            sa.literal(decided_by),
            sa.literal(reason, sa.Text),
            _WP.extraction_id,
            _WP.row_number,
        )
        .select_from(_joined())
        .where(r.review_id == review_id)
    )
    columns = ["source", "record_key", "decision", "match_key", "decided_by", "reason", "extraction_id", "row_number"]
    stmt = insert(review_decisions).from_select(columns, chosen)
    replaced = {c: stmt.excluded[c] for c in columns[2:]} | {"decided_at": sa.func.now()}
    conn.execute(stmt.on_conflict_do_update(index_elements=["source", "record_key"], set_=replaced))
    conn.execute(sa.delete(match_reviews).where(r.review_id == review_id))


def decided(
    conn: Connection, extraction_id: str, sources: Sequence[str], buckets: tuple[int, int]
) -> dict[tuple[str, int], str]:
    """The records of the extraction in ``buckets`` that a decision places: (source, row) -> person."""
    if conn.execute(sa.select(sa.exists().select_from(review_decisions))).scalar_one() is False:
        return {}
    d = review_decisions.c
    rows = conn.execute(
        sa.select(_WP.source, _WP.row_number, d.match_key)
        .select_from(
            work_prospects.join(review_decisions, sa.and_(d.source == _WP.source, d.record_key == _record_key()))
        )
        .where(
            _WP.extraction_id == extraction_id,
            _WP.source.in_(list(sources)),
            _WP.block_bucket >= buckets[0],
            _WP.block_bucket < buckets[1],
        )
    )
    return {(source, row_number): match_key for source, row_number, match_key in rows}


def decisions(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """The decisions kept, newest first."""
    d = review_decisions.c
    return [
        dict(r._mapping) for r in conn.execute(sa.select(review_decisions).order_by(d.decided_at.desc()).limit(limit))
    ]


def review_items(conn: Connection, extraction_id: str | None, limit: int) -> list[dict[str, Any]]:
    """Records held for review (of one extraction, or all), newest first, each with its candidates as
    they are in ``prospect_core`` now (prospect id, name, class, college, position)."""
    r = match_reviews.c
    stmt = sa.select(
        r.review_id, r.extraction_id, r.source, r.row_number, r.full_name, r.draft_year, r.reason, r.candidates
    )
    if extraction_id is not None:
        stmt = stmt.where(r.extraction_id == extraction_id)
    items = [dict(row._mapping) for row in conn.execute(stmt.order_by(r.created_at.desc(), r.review_id).limit(limit))]
    keys = sorted({key for item in items for key in item["candidates"]})
    c = prospect_core.c
    known = {
        row["match_key"]: dict(row)
        for row in conn.execute(
            sa.select(c.match_key, c.prospect_id, c.full_name, c.draft_year, c.college, c.position).where(
                c.match_key.in_(keys)
            )
        ).mappings()
    }
    for item in items:
        item["candidates"] = [known.get(key, {"match_key": key, "prospect_id": None}) for key in item["candidates"]]
    return items
