"""staging rows written at COPY speed: records as json, no per-row foreign key check

A staging row keeps the exported record as it was read; nothing queries into it in the database (the
workers parse it), so the binary form's cost on every write bought nothing: PostgreSQL stores a json
value as its text, once checked, about twice as fast as it converts one to jsonb, and sends it back
without converting it again.

The foreign key to ``extractions`` checked every staged row (more than half of COPY's time on the
server). Ingest locks the extraction's row once instead (``FOR KEY SHARE``, the lock each row's check
took), in the transaction that stages the file, and no extraction is ever deleted.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 02:50:00.000000
"""

from __future__ import annotations

from alembic import op
from sqlalchemy.dialects.postgresql import JSON, JSONB

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

STAGING = ("pff", "cfr", "nfl", "yahoo", "pfr", "espn")


def upgrade() -> None:
    for source in STAGING:
        table = f"{source}_staging"
        op.drop_constraint(op.f(f"fk_{table}_extraction_id_extractions"), table, type_="foreignkey")
        op.alter_column(table, "record", type_=JSON(), postgresql_using="record::json")


def downgrade() -> None:
    for source in STAGING:
        table = f"{source}_staging"
        op.alter_column(table, "record", type_=JSONB(), postgresql_using="record::jsonb")
        op.create_foreign_key(
            op.f(f"fk_{table}_extraction_id_extractions"), table, "extractions", ["extraction_id"], ["extraction_id"]
        )
