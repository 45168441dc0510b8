"""review decisions

A record held for review gets an id of its own (``match_reviews.review_id``), by which an operator
resolves it; the decision is kept in ``review_decisions`` by the source record's identity (its source
id, else its name, class and college), so that the next extraction carrying that record follows it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("match_reviews", sa.Column("review_id", sa.BigInteger(), sa.Identity(), nullable=False))
    op.create_unique_constraint(op.f("uq_match_reviews_review_id"), "match_reviews", ["review_id"])
    op.create_table(
        "review_decisions",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("record_key", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("match_key", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.CheckConstraint("decision IN ('into', 'new_person')", name=op.f("ck_review_decisions_decision")),
        sa.PrimaryKeyConstraint("source", "record_key", name=op.f("pk_review_decisions")),
    )


def downgrade() -> None:
    op.drop_table("review_decisions")
    op.drop_constraint(op.f("uq_match_reviews_review_id"), "match_reviews", type_="unique")
    op.drop_column("match_reviews", "review_id")
