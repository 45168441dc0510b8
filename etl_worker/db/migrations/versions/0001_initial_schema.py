"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 16:40:49.736892

Every table of the data model, and the three analytics views (each with the unique index that
``REFRESH MATERIALIZED VIEW CONCURRENTLY`` needs).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


VIEWS = {
    "mv_position_benchmarks": (
        """
        SELECT c.position_group AS position_group,
               count(DISTINCT c.prospect_id) AS prospects,
               percentile_cont(0.1) WITHIN GROUP (ORDER BY m.forty) AS forty_p10,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY m.forty) AS forty_p50,
               percentile_cont(0.9) WITHIN GROUP (ORDER BY m.forty) AS forty_p90,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY m.bench) AS bench_p50,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY m.vertical) AS vertical_p50,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY m.broad) AS broad_p50,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY m.three_cone) AS three_cone_p50,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY m.shuttle) AS shuttle_p50
        FROM prospect_measurements m
        JOIN prospect_core c USING (prospect_id)
        WHERE c.position_group IS NOT NULL
        GROUP BY c.position_group
        """,
        "position_group",
    ),
    "mv_prospect_quality_scores": (
        """
        SELECT c.prospect_id,
               (SELECT count(DISTINCT l.source) FROM data_lineage l
                 WHERE l.canonical_table = 'prospect_core' AND l.canonical_id = c.prospect_id) AS sources,
               (SELECT max(num_nonnulls(m.height_in, m.weight_lb, m.arm_in, m.hand_in, m.forty, m.ten_split,
                                        m.bench, m.vertical, m.broad, m.three_cone, m.shuttle)) / 11.0
                  FROM prospect_measurements m WHERE m.prospect_id = c.prospect_id) AS completeness,
               (SELECT stddev_pop(g.grade_normalized) FROM prospect_grades g
                 WHERE g.prospect_id = c.prospect_id) AS grade_spread,
               (SELECT avg(g.grade_normalized) FROM prospect_grades g
                 WHERE g.prospect_id = c.prospect_id) AS grade_consensus
        FROM prospect_core c
        """,
        "prospect_id",
    ),
    "mv_position_statistics": (
        """
        SELECT c.position_group AS position_group,
               count(*) AS prospects,
               avg(m.height_in) AS avg_height_in,
               avg(m.weight_lb) AS avg_weight_lb,
               avg(g.grade_normalized) AS avg_grade
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


def upgrade() -> None:
    op.create_table(
        "data_lineage",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("canonical_table", sa.Text(), nullable=False),
        sa.Column("canonical_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("staging_row", sa.Integer(), nullable=False),
        sa.Column("execution_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("match_method", sa.Text(), nullable=True),
        sa.Column("match_confidence", sa.Float(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_lineage")),
        sa.UniqueConstraint(
            "canonical_table",
            "canonical_id",
            "extraction_id",
            "source",
            "staging_row",
            name=op.f("uq_data_lineage_canonical_table_canonical_id_extraction_id_source_staging_row"),
        ),
    )
    op.create_table(
        "etl_executions",
        sa.Column("execution_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("transformer_types", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_prospects_loaded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_grades_loaded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_measurements_loaded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_stats_loaded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("quality_score", sa.Float(), nullable=True),
        sa.Column("error_summary", sa.Text(), nullable=True),
        sa.Column("hostname", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("execution_id", name=op.f("pk_etl_executions")),
    )
    op.create_index(op.f("ix_etl_executions_extraction_id"), "etl_executions", ["extraction_id"], unique=False)
    op.create_index(
        "uq_etl_executions_active_extraction",
        "etl_executions",
        ["extraction_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    )
    op.create_table(
        "etl_phase_runs",
        sa.Column("execution_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("phase", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("hostname", sa.Text(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "phase", name=op.f("pk_etl_phase_runs")),
    )
    op.create_table(
        "etl_transformer_runs",
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("execution_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("transformer_type", sa.Text(), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("row_lo", sa.Integer(), nullable=True),
        sa.Column("row_hi", sa.Integer(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("records_processed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("records_succeeded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("records_failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("hostname", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_etl_transformer_runs")),
    )
    op.create_index(
        op.f("ix_etl_transformer_runs_execution_id"), "etl_transformer_runs", ["execution_id"], unique=False
    )
    op.create_table(
        "extractions",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("state", sa.Text(), server_default="staged", nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("extraction_id", name=op.f("pk_extractions")),
    )
    op.create_table(
        "prospect_core",
        sa.Column("prospect_id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("match_key", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("position", sa.Text(), nullable=True),
        sa.Column("position_group", sa.Text(), nullable=True),
        sa.Column("college", sa.Text(), nullable=True),
        sa.Column("draft_year", sa.Integer(), nullable=True),
        sa.Column(
            "source_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("prospect_id", name=op.f("pk_prospect_core")),
        sa.UniqueConstraint("match_key", name=op.f("uq_prospect_core_match_key")),
    )
    op.create_table(
        "quality_metrics",
        sa.Column("execution_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("warn_threshold", sa.Float(), nullable=True),
        sa.Column("fail_threshold", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("measured_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("execution_id", "rule", "scope", name=op.f("pk_quality_metrics")),
    )
    op.create_table(
        "quarantined_records",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("extraction_id", "source", "row_number", name=op.f("pk_quarantined_records")),
    )
    op.create_table(
        "transform_batches",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=False),
        sa.Column("row_lo", sa.Integer(), nullable=False),
        sa.Column("row_hi", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("records_processed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("records_succeeded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("records_failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("task_id", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("extraction_id", "source", "batch_no", name=op.f("pk_transform_batches")),
    )
    op.create_table(
        "work_college_stats",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("season", sa.Integer(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("games", sa.Float(), nullable=True),
        sa.Column("pass_cmp", sa.Float(), nullable=True),
        sa.Column("pass_att", sa.Float(), nullable=True),
        sa.Column("pass_yds", sa.Float(), nullable=True),
        sa.Column("pass_td", sa.Float(), nullable=True),
        sa.Column("pass_int", sa.Float(), nullable=True),
        sa.Column("rush_att", sa.Float(), nullable=True),
        sa.Column("rush_yds", sa.Float(), nullable=True),
        sa.Column("rush_td", sa.Float(), nullable=True),
        sa.Column("rec", sa.Float(), nullable=True),
        sa.Column("rec_yds", sa.Float(), nullable=True),
        sa.Column("rec_td", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "extraction_id", "source", "row_number", "season", "team", name=op.f("pk_work_college_stats")
        ),
    )
    op.create_table(
        "work_grades",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("grade_type", sa.Text(), nullable=False),
        sa.Column("grade", sa.Float(), nullable=True),
        sa.Column("scale", sa.Text(), nullable=True),
        sa.Column("grade_normalized", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("position_rank", sa.Integer(), nullable=True),
        sa.Column("season", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("extraction_id", "source", "row_number", "grade_type", name=op.f("pk_work_grades")),
    )
    op.create_table(
        "work_links",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("match_key", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("extraction_id", "source", "row_number", name=op.f("pk_work_links")),
    )
    op.create_table(
        "work_measurements",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("height_in", sa.Float(), nullable=True),
        sa.Column("weight_lb", sa.Float(), nullable=True),
        sa.Column("arm_in", sa.Float(), nullable=True),
        sa.Column("hand_in", sa.Float(), nullable=True),
        sa.Column("forty", sa.Float(), nullable=True),
        sa.Column("ten_split", sa.Float(), nullable=True),
        sa.Column("bench", sa.Float(), nullable=True),
        sa.Column("vertical", sa.Float(), nullable=True),
        sa.Column("broad", sa.Float(), nullable=True),
        sa.Column("three_cone", sa.Float(), nullable=True),
        sa.Column("shuttle", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("extraction_id", "source", "row_number", name=op.f("pk_work_measurements")),
    )
    op.create_table(
        "work_merged_prospects",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("match_key", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("position", sa.Text(), nullable=True),
        sa.Column("position_group", sa.Text(), nullable=True),
        sa.Column("college", sa.Text(), nullable=True),
        sa.Column("draft_year", sa.Integer(), nullable=True),
        sa.Column("source_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("source_records", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("extraction_id", "match_key", name=op.f("pk_work_merged_prospects")),
    )
    op.create_table(
        "work_prospects",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("position", sa.Text(), nullable=True),
        sa.Column("position_group", sa.Text(), nullable=True),
        sa.Column("college", sa.Text(), nullable=True),
        sa.Column("college_key", sa.Text(), nullable=True),
        sa.Column("draft_year", sa.Integer(), nullable=True),
        sa.Column("source_player_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("extraction_id", "source", "row_number", name=op.f("pk_work_prospects")),
    )
    op.create_table(
        "cfr_staging",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["extraction_id"],
            ["extractions.extraction_id"],
            name=op.f("fk_cfr_staging_extraction_id_extractions"),
        ),
        sa.PrimaryKeyConstraint("extraction_id", "row_number", name=op.f("pk_cfr_staging")),
    )
    op.create_table(
        "extraction_files",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["extraction_id"],
            ["extractions.extraction_id"],
            name=op.f("fk_extraction_files_extraction_id_extractions"),
        ),
        sa.PrimaryKeyConstraint("extraction_id", "source", name=op.f("pk_extraction_files")),
    )
    op.create_table(
        "extraction_loads",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("execution_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["extraction_id"],
            ["extractions.extraction_id"],
            name=op.f("fk_extraction_loads_extraction_id_extractions"),
        ),
        sa.PrimaryKeyConstraint("extraction_id", name=op.f("pk_extraction_loads")),
    )
    op.create_table(
        "nfl_staging",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["extraction_id"],
            ["extractions.extraction_id"],
            name=op.f("fk_nfl_staging_extraction_id_extractions"),
        ),
        sa.PrimaryKeyConstraint("extraction_id", "row_number", name=op.f("pk_nfl_staging")),
    )
    op.create_table(
        "pff_staging",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["extraction_id"],
            ["extractions.extraction_id"],
            name=op.f("fk_pff_staging_extraction_id_extractions"),
        ),
        sa.PrimaryKeyConstraint("extraction_id", "row_number", name=op.f("pk_pff_staging")),
    )
    op.create_table(
        "prospect_college_stats",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("prospect_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("season", sa.Integer(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("games", sa.Float(), nullable=True),
        sa.Column("pass_cmp", sa.Float(), nullable=True),
        sa.Column("pass_att", sa.Float(), nullable=True),
        sa.Column("pass_yds", sa.Float(), nullable=True),
        sa.Column("pass_td", sa.Float(), nullable=True),
        sa.Column("pass_int", sa.Float(), nullable=True),
        sa.Column("rush_att", sa.Float(), nullable=True),
        sa.Column("rush_yds", sa.Float(), nullable=True),
        sa.Column("rush_td", sa.Float(), nullable=True),
        sa.Column("rec", sa.Float(), nullable=True),
        sa.Column("rec_yds", sa.Float(), nullable=True),
        sa.Column("rec_td", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospect_core.prospect_id"],
            name=op.f("fk_prospect_college_stats_prospect_id_prospect_core"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prospect_college_stats")),
        sa.UniqueConstraint(
            "prospect_id",
            "source",
            "season",
            "team",
            name=op.f("uq_prospect_college_stats_prospect_id_source_season_team"),
        ),
    )
    op.create_table(
        "prospect_grades",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("prospect_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("grade_type", sa.Text(), nullable=False),
        sa.Column("grade", sa.Float(), nullable=True),
        sa.Column("scale", sa.Text(), nullable=True),
        sa.Column("grade_normalized", sa.Float(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("position_rank", sa.Integer(), nullable=True),
        sa.Column("season", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospect_core.prospect_id"],
            name=op.f("fk_prospect_grades_prospect_id_prospect_core"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prospect_grades")),
        sa.UniqueConstraint(
            "prospect_id",
            "source",
            "grade_type",
            name=op.f("uq_prospect_grades_prospect_id_source_grade_type"),
        ),
    )
    op.create_table(
        "prospect_measurements",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("prospect_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("height_in", sa.Float(), nullable=True),
        sa.Column("weight_lb", sa.Float(), nullable=True),
        sa.Column("arm_in", sa.Float(), nullable=True),
        sa.Column("hand_in", sa.Float(), nullable=True),
        sa.Column("forty", sa.Float(), nullable=True),
        sa.Column("ten_split", sa.Float(), nullable=True),
        sa.Column("bench", sa.Float(), nullable=True),
        sa.Column("vertical", sa.Float(), nullable=True),
        sa.Column("broad", sa.Float(), nullable=True),
        sa.Column("three_cone", sa.Float(), nullable=True),
        sa.Column("shuttle", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospect_core.prospect_id"],
            name=op.f("fk_prospect_measurements_prospect_id_prospect_core"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prospect_measurements")),
        sa.UniqueConstraint("prospect_id", "source", name=op.f("uq_prospect_measurements_prospect_id_source")),
    )
    op.create_table(
        "yahoo_staging",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("record", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["extraction_id"],
            ["extractions.extraction_id"],
            name=op.f("fk_yahoo_staging_extraction_id_extractions"),
        ),
        sa.PrimaryKeyConstraint("extraction_id", "row_number", name=op.f("pk_yahoo_staging")),
    )
    for name, (query, key) in VIEWS.items():
        op.execute(f"CREATE MATERIALIZED VIEW {name} AS {query}")
        op.execute(f"CREATE UNIQUE INDEX uq_{name}_{key} ON {name} ({key})")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP MATERIALIZED VIEW {name}")
    op.drop_table("yahoo_staging")
    op.drop_table("prospect_measurements")
    op.drop_table("prospect_grades")
    op.drop_table("prospect_college_stats")
    op.drop_table("pff_staging")
    op.drop_table("nfl_staging")
    op.drop_table("extraction_loads")
    op.drop_table("extraction_files")
    op.drop_table("cfr_staging")
    op.drop_table("work_prospects")
    op.drop_table("work_merged_prospects")
    op.drop_table("work_measurements")
    op.drop_table("work_links")
    op.drop_table("work_grades")
    op.drop_table("work_college_stats")
    op.drop_table("transform_batches")
    op.drop_table("quarantined_records")
    op.drop_table("quality_metrics")
    op.drop_table("prospect_core")
    op.drop_table("extractions")
    op.drop_index(op.f("ix_etl_transformer_runs_execution_id"), table_name="etl_transformer_runs")
    op.drop_table("etl_transformer_runs")
    op.drop_table("etl_phase_runs")
    op.drop_index(
        "uq_etl_executions_active_extraction",
        table_name="etl_executions",
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    )
    op.drop_index(op.f("ix_etl_executions_extraction_id"), table_name="etl_executions")
    op.drop_table("etl_executions")
    op.drop_table("data_lineage")
