"""merge buckets

A work prospect's surname block is hashed into one of 1,024 buckets instead of one of four merge
parts, so that each run cuts its merge into as many parts as its size calls for (a part resolves a
range of buckets). Rows written before hold 0..3: valid buckets, whole blocks still together. A merge
part looks up whether another record carries the same source id by index.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 12:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("work_prospects", "merge_part", new_column_name="block_bucket")
    op.alter_column("work_merged_prospects", "merge_part", new_column_name="block_bucket")
    op.execute(
        "ALTER INDEX ix_work_prospects_extraction_part_surname_key "
        "RENAME TO ix_work_prospects_extraction_bucket_surname_key"
    )
    op.create_index(
        "ix_work_prospects_extraction_source_player_id",
        "work_prospects",
        ["extraction_id", "source", "source_player_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_work_prospects_extraction_source_player_id", table_name="work_prospects")
    op.execute(
        "ALTER INDEX ix_work_prospects_extraction_bucket_surname_key "
        "RENAME TO ix_work_prospects_extraction_part_surname_key"
    )
    op.execute("UPDATE work_prospects SET block_bucket = block_bucket % 4")
    op.execute("UPDATE work_merged_prospects SET block_bucket = block_bucket % 4")
    op.alter_column("work_merged_prospects", "block_bucket", new_column_name="merge_part")
    op.alter_column("work_prospects", "block_bucket", new_column_name="merge_part")
