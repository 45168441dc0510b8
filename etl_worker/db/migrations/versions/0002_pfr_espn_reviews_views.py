"""pfr and espn sources, draft results, match reviews, richer views

The analytics views are rebuilt: benchmarks per position group and five-year range for every drill
(one value per prospect, NFL.com before PFR), per-prospect completeness and cross-source agreement,
per-position statistics with draft results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 16:54:39.084242
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


DRILLS = ("forty", "ten_split", "bench", "vertical", "broad", "three_cone", "shuttle")
_PERCENTILES = ",\n".join(
    f"percentile_cont({q}) WITHIN GROUP (ORDER BY {d}) AS {d}_p{int(q * 100)}" for d in DRILLS for q in (0.1, 0.5, 0.9)
)
VIEWS = {
    "mv_position_benchmarks": (
        f"""
        WITH best AS (
            SELECT DISTINCT ON (m.prospect_id) m.*, c.position_group, c.draft_year
            FROM prospect_measurements m JOIN prospect_core c USING (prospect_id)
            WHERE m.source IN ('nfl', 'pfr') AND c.position_group IS NOT NULL AND c.draft_year IS NOT NULL
            ORDER BY m.prospect_id, m.source = 'nfl' DESC
        )
        SELECT position_group,
               (draft_year / 5 * 5)::text || '-' || (draft_year / 5 * 5 + 4)::text AS years,
               count(*) AS prospects,
               {_PERCENTILES}
        FROM best
        GROUP BY position_group, draft_year / 5
        """,
        "position_group, years",
    ),
    "mv_prospect_quality_scores": (
        """
        SELECT c.prospect_id,
               c.full_name,
               c.draft_year,
               c.position_group,
               (SELECT count(DISTINCT l.source) FROM data_lineage l
                 WHERE l.canonical_table = 'prospect_core' AND l.canonical_id = c.prospect_id) AS sources,
               (SELECT max(num_nonnulls(m.height_in, m.weight_lb, m.arm_in, m.hand_in, m.forty, m.ten_split,
                                        m.bench, m.vertical, m.broad, m.three_cone, m.shuttle)) / 11.0
                  FROM prospect_measurements m WHERE m.prospect_id = c.prospect_id) AS completeness,
               (SELECT max(m.weight_lb) - min(m.weight_lb) FROM prospect_measurements m
                 WHERE m.prospect_id = c.prospect_id AND m.source IN ('nfl', 'pfr')) AS combine_weight_spread,
               (SELECT max(m.height_in) - min(m.height_in) FROM prospect_measurements m
                 WHERE m.prospect_id = c.prospect_id) AS height_spread,
               (SELECT avg(g.grade_normalized) FROM prospect_grades g
                 WHERE g.prospect_id = c.prospect_id) AS consensus_grade,
               (SELECT stddev_pop(g.grade_normalized) FROM prospect_grades g
                 WHERE g.prospect_id = c.prospect_id) AS grade_spread
        FROM prospect_core c
        """,
        "prospect_id",
    ),
    "mv_position_statistics": (
        """
        SELECT c.position_group,
               count(*) AS prospects,
               avg(m.height_in) AS avg_height_in,
               avg(m.weight_lb) AS avg_weight_lb,
               avg(g.grade_normalized) AS avg_grade,
               avg(CASE WHEN c.draft_pick IS NOT NULL THEN 1.0 ELSE 0.0 END) AS drafted_share,
               avg(c.draft_pick) AS avg_draft_pick
        FROM prospect_core c
        LEFT JOIN LATERAL (SELECT avg(height_in) AS height_in, avg(weight_lb) AS weight_lb
                           FROM prospect_measurements WHERE prospect_id = c.prospect_id) m ON true
        LEFT JOIN LATERAL (SELECT avg(grade_normalized) AS grade_normalized
                           FROM prospect_grades WHERE prospect_id = c.prospect_id) g ON true
        WHERE c.position_group IS NOT NULL
        GROUP BY c.position_group
        """,
        "position_group",
    ),
}


def _drop_views() -> None:
    for name in VIEWS:
        op.execute(f"DROP MATERIALIZED VIEW IF EXISTS {name}")


def upgrade() -> None:
    _drop_views()
    op.create_table(
        "match_reviews",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("draft_year", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("candidates", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("extraction_id", "source", "row_number", name=op.f("pk_match_reviews")),
    )
    op.create_table(
        "espn_staging",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["extraction_id"], ["extractions.extraction_id"], name=op.f("fk_espn_staging_extraction_id_extractions")
        ),
        sa.PrimaryKeyConstraint("extraction_id", "row_number", name=op.f("pk_espn_staging")),
    )
    op.create_table(
        "pfr_staging",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["extraction_id"], ["extractions.extraction_id"], name=op.f("fk_pfr_staging_extraction_id_extractions")
        ),
        sa.PrimaryKeyConstraint("extraction_id", "row_number", name=op.f("pk_pfr_staging")),
    )
    op.add_column("prospect_core", sa.Column("draft_round", sa.Integer(), nullable=True))
    op.add_column("prospect_core", sa.Column("draft_pick", sa.Integer(), nullable=True))
    op.add_column("prospect_core", sa.Column("draft_team", sa.Text(), nullable=True))
    op.add_column("work_merged_prospects", sa.Column("draft_round", sa.Integer(), nullable=True))
    op.add_column("work_merged_prospects", sa.Column("draft_pick", sa.Integer(), nullable=True))
    op.add_column("work_merged_prospects", sa.Column("draft_team", sa.Text(), nullable=True))
    op.add_column("work_prospects", sa.Column("other_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("work_prospects", sa.Column("draft_round", sa.Integer(), nullable=True))
    op.add_column("work_prospects", sa.Column("draft_pick", sa.Integer(), nullable=True))
    op.add_column("work_prospects", sa.Column("draft_team", sa.Text(), nullable=True))
    for table in ("work_prospects", "work_merged_prospects", "prospect_core"):
        op.add_column(table, sa.Column("surname_key", sa.Text(), nullable=True))
        op.execute(f"UPDATE {table} SET surname_key = regexp_replace(name_key, '^.* ', '')")
        op.alter_column(table, "surname_key", nullable=False)
    op.create_index("ix_prospect_core_surname_key", "prospect_core", ["surname_key"])
    op.create_index("ix_work_prospects_extraction_surname_key", "work_prospects", ["extraction_id", "surname_key"])
    for name, (query, key) in VIEWS.items():
        op.execute(f"CREATE MATERIALIZED VIEW {name} AS {query}")
        op.execute(f"CREATE UNIQUE INDEX uq_{name} ON {name} ({key})")


def downgrade() -> None:
    _drop_views()
    op.drop_index("ix_work_prospects_extraction_surname_key", table_name="work_prospects")
    op.drop_index("ix_prospect_core_surname_key", table_name="prospect_core")
    for table in ("work_prospects", "work_merged_prospects", "prospect_core"):
        op.drop_column(table, "surname_key")
    op.drop_column("work_prospects", "draft_team")
    op.drop_column("work_prospects", "draft_pick")
    op.drop_column("work_prospects", "draft_round")
    op.drop_column("work_prospects", "other_ids")
    op.drop_column("work_merged_prospects", "draft_team")
    op.drop_column("work_merged_prospects", "draft_pick")
    op.drop_column("work_merged_prospects", "draft_round")
    op.drop_column("prospect_core", "draft_team")
    op.drop_column("prospect_core", "draft_pick")
    op.drop_column("prospect_core", "draft_round")
    op.drop_table("pfr_staging")
    op.drop_table("espn_staging")
    op.drop_table("match_reviews")
    # Back to the views of 0001.
    from importlib import import_module

    initial = import_module("etl_worker.db.migrations.versions.0001_initial_schema")
    for name, (query, key) in initial.VIEWS.items():
        op.execute(f"CREATE MATERIALIZED VIEW {name} AS {query}")
        op.execute(f"CREATE UNIQUE INDEX uq_{name}_{key} ON {name} ({key})")
