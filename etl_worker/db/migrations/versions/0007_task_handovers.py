"""task handovers

Each delivery of a task notes the task's name, the worker that started it and when it finished, so
``status`` can say what a run waits for; a task handed back to the queue because that worker was lost
counts the handover, the lost worker and when.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 06:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("task_deliveries", sa.Column("task_name", sa.Text(), nullable=True))
    op.add_column("task_deliveries", sa.Column("hostname", sa.Text(), nullable=True))
    op.add_column("task_deliveries", sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("task_deliveries", sa.Column("handovers", sa.Integer(), server_default="0", nullable=False))
    op.add_column("task_deliveries", sa.Column("lost_worker", sa.Text(), nullable=True))
    op.add_column("task_deliveries", sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for column in ("handed_over_at", "lost_worker", "handovers", "finished_at", "hostname", "task_name"):
        op.drop_column("task_deliveries", column)
