"""file accounting

Each staged file keeps what became of every physical line: lines read, blank lines, records rejected
at ingest (with the first hundred line numbers and reasons) beside the records staged. A dropped file
counts the watchers that claimed it, so a file that kills its watcher is retaken once, then rejected.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 05:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("extraction_files", sa.Column("lines_read", sa.Integer(), server_default="0", nullable=False))
    op.add_column("extraction_files", sa.Column("blank_lines", sa.Integer(), server_default="0", nullable=False))
    op.add_column("extraction_files", sa.Column("records_rejected", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "extraction_files",
        sa.Column(
            "rejected",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("dropped_files", sa.Column("attempts", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    op.drop_column("dropped_files", "attempts")
    for column in ("rejected", "records_rejected", "blank_lines", "lines_read"):
        op.drop_column("extraction_files", column)
