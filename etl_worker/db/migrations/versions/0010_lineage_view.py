"""lineage written by the merge parts

The load copied one lineage row per staged record and canonical table inside its one transaction
(about half of the load's time, serial however many workers there are). The parallel merge parts now
write each record's link once, with the execution that merged it, into ``lineage_links`` (which
replaces ``work_links``: the load reads the links of the merge it loads, ``extraction_loads.merged_by``);
``data_lineage`` becomes a view over those links, the load ledger and the canonical tables, showing the
links of the merge each extraction's load committed. Same columns (without the surrogate ``id``); every
staged record that contributed to a canonical grade, measurement or season row now has lineage, not
only the one whose values won.

Existing links are kept, in bucket 0 (those merges never run again): each loaded extraction's lineage as
links of its loading execution, and the work links of every extraction as links of the last execution
that merged it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 13:10:00.000000
"""

from __future__ import annotations

from importlib import import_module

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BRANCH = """
SELECT '{table}'::text AS canonical_table, {canonical_id} AS canonical_id, l.source, l.extraction_id,
       l.row_number AS staging_row, x.execution_id, l.method AS match_method, l.confidence AS match_confidence,
       x.loaded_at
FROM lineage_links l
JOIN extraction_loads x ON x.extraction_id = l.extraction_id AND x.merged_by = l.execution_id
JOIN prospect_core c ON c.match_key = l.match_key
{joins}"""

_JOINS = {
    "prospect_core": ("c.prospect_id", ""),
    "prospect_grades": (
        "t.id",
        "JOIN work_grades w ON w.extraction_id = l.extraction_id AND w.source = l.source "
        "AND w.row_number = l.row_number "
        "JOIN prospect_grades t ON t.prospect_id = c.prospect_id AND t.source = w.source "
        "AND t.grade_type = w.grade_type",
    ),
    "prospect_measurements": (
        "t.id",
        "JOIN work_measurements w ON w.extraction_id = l.extraction_id AND w.source = l.source "
        "AND w.row_number = l.row_number "
        "JOIN prospect_measurements t ON t.prospect_id = c.prospect_id AND t.source = w.source",
    ),
    "prospect_college_stats": (
        "t.id",
        "JOIN work_college_stats w ON w.extraction_id = l.extraction_id AND w.source = l.source "
        "AND w.row_number = l.row_number "
        "JOIN prospect_college_stats t ON t.prospect_id = c.prospect_id AND t.source = w.source "
        "AND t.season = w.season AND t.team = w.team",
    ),
}

DATA_LINEAGE = "\nUNION ALL".join(
    _BRANCH.format(table=table, canonical_id=canonical_id, joins=joins)
    for table, (canonical_id, joins) in _JOINS.items()
)

_QUALITY_SCORES = "etl_worker.db.migrations.versions.0004_quality_scores_by_group"


def _drop_quality_scores() -> None:
    op.execute("DROP MATERIALIZED VIEW mv_prospect_quality_scores")


def _create_quality_scores() -> None:
    query = import_module(_QUALITY_SCORES).QUALITY_SCORES
    op.execute(f"CREATE MATERIALIZED VIEW mv_prospect_quality_scores AS {query}")
    op.execute("CREATE UNIQUE INDEX uq_mv_prospect_quality_scores ON mv_prospect_quality_scores (prospect_id)")


def upgrade() -> None:
    op.create_table(
        "lineage_links",
        sa.Column("extraction_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("execution_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("block_bucket", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("match_key", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "extraction_id", "execution_id", "block_bucket", "source", "row_number", name=op.f("pk_lineage_links")
        ),
    )
    op.add_column("extraction_loads", sa.Column("merged_by", sa.Uuid(as_uuid=False), nullable=True))
    op.execute("UPDATE extraction_loads SET merged_by = execution_id")
    op.alter_column("extraction_loads", "merged_by", nullable=False)
    op.execute(
        """
        INSERT INTO lineage_links (extraction_id, execution_id, block_bucket, source, row_number, match_key,
                                   method, confidence)
        SELECT DISTINCT ON (d.extraction_id, d.source, d.staging_row)
               d.extraction_id, x.execution_id, 0, d.source, d.staging_row, c.match_key,
               coalesce(d.match_method, 'new'), coalesce(d.match_confidence, 1.0)
        FROM data_lineage d
        JOIN extraction_loads x ON x.extraction_id = d.extraction_id
        JOIN prospect_core c ON c.prospect_id = d.canonical_id
        WHERE d.canonical_table = 'prospect_core'
        ORDER BY d.extraction_id, d.source, d.staging_row, d.loaded_at DESC
        """
    )
    op.execute(
        """
        INSERT INTO lineage_links (extraction_id, execution_id, block_bucket, source, row_number, match_key,
                                   method, confidence)
        SELECT w.extraction_id, m.execution_id, 0, w.source, w.row_number, w.match_key, w.method, w.confidence
        FROM work_links w
        JOIN (SELECT DISTINCT ON (e.extraction_id) e.extraction_id, e.execution_id
              FROM etl_executions e JOIN etl_phase_runs p USING (execution_id)
              WHERE p.phase = 'merge' AND p.status = 'success'
              ORDER BY e.extraction_id, p.completed_at DESC NULLS LAST) m USING (extraction_id)
        ON CONFLICT DO NOTHING
        """
    )
    op.drop_table("work_links")
    _drop_quality_scores()
    op.drop_table("data_lineage")
    op.execute(f"CREATE VIEW data_lineage AS {DATA_LINEAGE}")
    _create_quality_scores()


def downgrade() -> None:
    _drop_quality_scores()
    op.execute("CREATE TABLE data_lineage_kept AS SELECT * FROM data_lineage")
    op.execute("DROP VIEW data_lineage")
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
    op.execute(
        "INSERT INTO data_lineage (canonical_table, canonical_id, source, extraction_id, staging_row, execution_id, "
        "match_method, match_confidence, loaded_at) "
        "SELECT canonical_table, canonical_id, source, extraction_id, staging_row, execution_id, match_method, "
        "match_confidence, loaded_at FROM data_lineage_kept ON CONFLICT DO NOTHING"
    )
    op.execute("DROP TABLE data_lineage_kept")
    _create_quality_scores()
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
    op.execute(
        "INSERT INTO work_links SELECT DISTINCT ON (l.extraction_id, l.source, l.row_number) "
        "l.extraction_id, l.source, l.row_number, l.match_key, l.method, l.confidence "
        "FROM lineage_links l LEFT JOIN extraction_loads x USING (extraction_id) "
        "ORDER BY l.extraction_id, l.source, l.row_number, l.execution_id = x.merged_by DESC"
    )
    op.drop_column("extraction_loads", "merged_by")
    op.drop_table("lineage_links")
