"""spelling ranks

Each field of a prospect that sources spell differently (name, position, college, draft pick) keeps
the priority of the source it came from (``ranks``), and a load replaces it only with a spelling from a
source at least as trusted: the canonical row no longer depends on which extraction came last. Rows
loaded before have no ranks, so their next load sets them as before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("prospect_core", sa.Column("ranks", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False))
    op.add_column("work_merged_prospects", sa.Column("ranks", JSONB(), server_default=None, nullable=True))
    op.execute("UPDATE work_merged_prospects SET ranks = '{}'::jsonb")
    op.alter_column("work_merged_prospects", "ranks", nullable=False)


def downgrade() -> None:
    op.drop_column("work_merged_prospects", "ranks")
    op.drop_column("prospect_core", "ranks")
