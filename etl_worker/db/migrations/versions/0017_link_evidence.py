"""lineage_links.evidence: what each record shared with the person it joined

A link kept its method and confidence only; ``etl-worker explain`` and the console's prospect page
now show, per source record, which fields agreed (name, class, college, position, ids). Links merged
before this revision have none.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 16:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("lineage_links", sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=True))


def downgrade() -> None:
    op.drop_column("lineage_links", "evidence")
