"""task deliveries

Counts how often each task was handed to a worker, so a task that kills its worker every time is
given up after a bounded number of deliveries; keeps each execution's planned batches, so every task
of a run can be named (and revoked) from PostgreSQL.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:38:30.722449
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_deliveries",
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("retry", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("task_id", "retry", name=op.f("pk_task_deliveries")),
    )
    op.create_index(op.f("ix_task_deliveries_execution_id"), "task_deliveries", ["execution_id"], unique=False)
    op.add_column(
        "etl_executions", sa.Column("planned_batches", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("etl_executions", "planned_batches")
    op.drop_index(op.f("ix_task_deliveries_execution_id"), table_name="task_deliveries")
    op.drop_table("task_deliveries")
