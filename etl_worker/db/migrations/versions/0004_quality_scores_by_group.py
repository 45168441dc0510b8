"""mv_prospect_quality_scores by grouped joins

The per-prospect view computed four correlated subqueries for every prospect; the same rows from
three grouped scans refresh about three times faster (REFRESH ... CONCURRENTLY 0.48 s -> 0.15 s at
20,674 prospects: the four public sample files).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 18:50:00
"""

from __future__ import annotations

from importlib import import_module

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

QUALITY_SCORES = """
WITH s AS (
    SELECT canonical_id AS prospect_id, count(DISTINCT source) AS sources
    FROM data_lineage WHERE canonical_table = 'prospect_core' GROUP BY canonical_id
), m AS (
    SELECT prospect_id,
           max(num_nonnulls(height_in, weight_lb, arm_in, hand_in, forty, ten_split, bench, vertical, broad,
                            three_cone, shuttle)) / 11.0 AS completeness,
           max(weight_lb) FILTER (WHERE source IN ('nfl', 'pfr'))
             - min(weight_lb) FILTER (WHERE source IN ('nfl', 'pfr')) AS combine_weight_spread,
           max(height_in) - min(height_in) AS height_spread
    FROM prospect_measurements GROUP BY prospect_id
), g AS (
    SELECT prospect_id, avg(grade_normalized) AS consensus_grade, stddev_pop(grade_normalized) AS grade_spread
    FROM prospect_grades GROUP BY prospect_id
)
SELECT c.prospect_id, c.full_name, c.draft_year, c.position_group, coalesce(s.sources, 0) AS sources,
       m.completeness, m.combine_weight_spread, m.height_spread, g.consensus_grade, g.grade_spread
FROM prospect_core c
LEFT JOIN s USING (prospect_id)
LEFT JOIN m USING (prospect_id)
LEFT JOIN g USING (prospect_id)
"""


def _create(query: str) -> None:
    op.execute("DROP MATERIALIZED VIEW mv_prospect_quality_scores")
    op.execute(f"CREATE MATERIALIZED VIEW mv_prospect_quality_scores AS {query}")
    op.execute("CREATE UNIQUE INDEX uq_mv_prospect_quality_scores ON mv_prospect_quality_scores (prospect_id)")


def upgrade() -> None:
    _create(QUALITY_SCORES)


def downgrade() -> None:
    previous = import_module("etl_worker.db.migrations.versions.0002_pfr_espn_reviews_views")
    _create(previous.VIEWS["mv_prospect_quality_scores"][0])
