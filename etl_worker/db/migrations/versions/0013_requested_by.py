"""who requested an execution

An execution records who started it (a user at a host, a console user, or nobody for the scheduler and
the drop folder), so a replay or a run started from the console can be traced to the person.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 20:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("etl_executions", sa.Column("requested_by", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("etl_executions", "requested_by")
