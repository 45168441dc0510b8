"""execution resume

An execution keeps the canvas it was started with (its context and batch plan), so that one which
stopped moving while none of its tasks is queued or running anywhere (the broker lost them) can be
resumed from PostgreSQL; each resume is counted, with when and from which phase.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 09:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("etl_executions", sa.Column("pipeline", JSONB(), nullable=True))
    op.add_column("etl_executions", sa.Column("resumes", sa.Integer(), server_default="0", nullable=False))
    op.add_column("etl_executions", sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("etl_executions", sa.Column("resumed_from", sa.Text(), nullable=True))


def downgrade() -> None:
    for column in ("resumed_from", "resumed_at", "resumes", "pipeline"):
        op.drop_column("etl_executions", column)
