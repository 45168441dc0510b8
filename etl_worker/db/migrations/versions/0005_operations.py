"""operations: alerts, daily history rollups, the drop folder, replay links

Alerts are kept per (execution, rule, scope), so evaluating an execution twice never alerts twice;
rollups keep per-day figures of pruned history forever; dropped files are known by checksum, so the
drop-folder watcher takes a file once; a replayed execution names the one whose work it reuses, and
every execution keeps its batch size, so a replay cuts the same batches. Work prospects carry the merge
part of their surname block, so each parallel merge part reads only its own rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 19:37:38.617798
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dropped_files",
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("execution_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_dropped_files")),
    )
    op.create_table(
        "etl_alerts",
        sa.Column("alert_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("execution_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "deliveries", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_etl_alerts")),
        sa.UniqueConstraint("execution_id", "rule", "scope", name=op.f("uq_etl_alerts_execution_id_rule_scope")),
    )
    op.create_index("ix_etl_alerts_created_at", "etl_alerts", ["created_at"], unique=False)
    op.create_table(
        "etl_daily_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("successes", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("others", sa.Integer(), nullable=False),
        sa.Column("timed_runs", sa.Integer(), nullable=False),
        sa.Column("duration_sum", sa.Float(), nullable=False),
        sa.Column("duration_p50", sa.Float(), nullable=True),
        sa.Column("duration_p95", sa.Float(), nullable=True),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("day", "kind", "name", name=op.f("pk_etl_daily_rollups")),
    )
    op.add_column("work_prospects", sa.Column("merge_part", sa.SmallInteger(), server_default="0", nullable=False))
    op.add_column(
        "work_merged_prospects", sa.Column("merge_part", sa.SmallInteger(), server_default="0", nullable=False)
    )
    op.drop_index("ix_work_prospects_extraction_surname_key", table_name="work_prospects")
    op.create_index(
        "ix_work_prospects_extraction_part_surname_key",
        "work_prospects",
        ["extraction_id", "merge_part", "surname_key"],
        unique=False,
    )
    op.add_column("etl_executions", sa.Column("batch_size", sa.Integer(), nullable=True))
    op.add_column("etl_executions", sa.Column("replay_of", sa.Uuid(as_uuid=False), nullable=True))
    op.add_column("etl_executions", sa.Column("replay_from", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("etl_executions", "replay_from")
    op.drop_column("etl_executions", "replay_of")
    op.drop_column("etl_executions", "batch_size")
    op.drop_index("ix_work_prospects_extraction_part_surname_key", table_name="work_prospects")
    op.create_index("ix_work_prospects_extraction_surname_key", "work_prospects", ["extraction_id", "surname_key"])
    op.drop_column("work_merged_prospects", "merge_part")
    op.drop_column("work_prospects", "merge_part")
    op.drop_table("etl_daily_rollups")
    op.drop_index("ix_etl_alerts_created_at", table_name="etl_alerts")
    op.drop_table("etl_alerts")
    op.drop_table("dropped_files")
