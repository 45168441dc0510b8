"""Weighed evidence across surname blocks: a person's merged rows may come from several blocks, and the
review items the weighing holds are its own

``work_merged_prospects`` is keyed by the block as well: a record placed on a person of another block (by
an operator's decision, or as the loaded merge weighed it) gives that person a row in its own block, and
the merge joins a person's rows into one before the load. ``match_reviews.weighed`` marks the items the
weighing after the merge parts holds: the parts keep their own items, the weighing keeps its.
``college_key`` (the college folded for matching) is kept on merged and canonical prospects: the weighing
finds a run's people and the loaded prospects of their class by it. ``name_keys``: every name a
prospect's records go by, so that a record spelled as one of them joins it in the next extraction (a
prospect's name is its most trusted source's; PFR's 'Trey Walker' is NFL.com's 'Tracy Walker').

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from etl_worker.normalize import college_key

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("pk_work_merged_prospects", "work_merged_prospects", type_="primary")
    op.create_primary_key(
        "pk_work_merged_prospects", "work_merged_prospects", ["extraction_id", "match_key", "block_bucket"]
    )
    op.add_column("match_reviews", sa.Column("weighed", sa.Boolean(), server_default=sa.false(), nullable=False))
    for table in ("work_merged_prospects", "prospect_core"):
        op.add_column(table, sa.Column("college_key", sa.Text(), nullable=True))
        op.add_column(table, sa.Column("name_keys", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.execute(
        """
        UPDATE prospect_core c SET name_keys = to_jsonb(ARRAY(
            SELECT DISTINCT n FROM unnest(ARRAY[c.name_key] || ARRAY(
                SELECT w.name_key FROM lineage_links l
                JOIN extraction_loads x ON x.extraction_id = l.extraction_id AND x.merged_by = l.execution_id
                JOIN work_prospects w
                  ON w.extraction_id = l.extraction_id AND w.source = l.source AND w.row_number = l.row_number
                WHERE l.match_key = c.match_key
            )) AS n ORDER BY n
        ))
        """
    )
    conn = op.get_bind()
    colleges = [
        c for (c,) in conn.execute(sa.text("SELECT DISTINCT college FROM prospect_core WHERE college IS NOT NULL"))
    ]
    if colleges:
        conn.execute(
            sa.text("UPDATE prospect_core SET college_key = :key WHERE college = :college"),
            [{"college": c, "key": college_key(c)} for c in colleges],
        )


def downgrade() -> None:
    for table in ("work_merged_prospects", "prospect_core"):
        op.drop_column(table, "college_key")
        op.drop_column(table, "name_keys")
    op.drop_column("match_reviews", "weighed")
    op.execute("DELETE FROM work_merged_prospects")  # rows of one person in two blocks cannot keep the old key
    op.drop_constraint("pk_work_merged_prospects", "work_merged_prospects", type_="primary")
    op.create_primary_key("pk_work_merged_prospects", "work_merged_prospects", ["extraction_id", "match_key"])
