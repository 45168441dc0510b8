"""Weighed evidence across surname blocks: a person's merged rows may come from several blocks, and the
review items the weighing holds are its own

``work_merged_prospects`` is keyed by the block as well: a record placed on a person of another block (by
an operator's decision, or as the loaded merge weighed it) gives that person a row in its own block, and
the merge joins a person's rows into one before the load. ``match_reviews.weighed`` marks the items the
weighing after the merge parts holds: the parts keep their own items, the weighing keeps its.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 18:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    op.drop_column("match_reviews", "weighed")
    op.execute("DELETE FROM work_merged_prospects")  # rows of one person in two blocks cannot keep the old key
    op.drop_constraint("pk_work_merged_prospects", "work_merged_prospects", type_="primary")
    op.create_primary_key("pk_work_merged_prospects", "work_merged_prospects", ["extraction_id", "match_key"])
