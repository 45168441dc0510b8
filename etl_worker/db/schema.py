"""The declared data model. Alembic migrations build it; a test checks they agree."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON, JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UUID = sa.Uuid(as_uuid=False)
TS = sa.DateTime(timezone=True)


def _now() -> sa.TextClause:
    return sa.text("now()")


# --- extractions and staging ------------------------------------------------------------------

extractions = sa.Table(
    "extractions",
    metadata,
    sa.Column("extraction_id", UUID, primary_key=True),
    sa.Column("created_at", TS, nullable=False, server_default=_now()),
    sa.Column("state", sa.Text, nullable=False, server_default="staged"),
    sa.Column("loaded_at", TS),
)

extraction_files = sa.Table(
    "extraction_files",
    metadata,
    sa.Column("extraction_id", UUID, sa.ForeignKey("extractions.extraction_id"), primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),  # records staged
    sa.Column("ingested_at", TS, nullable=False, server_default=_now()),
    # Every physical line accounted for: 1 header + blank lines + the lines of staged and rejected records.
    sa.Column("lines_read", sa.Integer, nullable=False, server_default="0"),
    sa.Column("blank_lines", sa.Integer, nullable=False, server_default="0"),
    sa.Column("records_rejected", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rejected", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),  # first 100: line, reason
)


def _staging(source: str, meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        f"{source}_staging",
        meta,
        # No foreign key: ingest locks the extraction once, not per row; records as read (migration 0014).
        sa.Column("extraction_id", UUID, primary_key=True),
        sa.Column("row_number", sa.Integer, primary_key=True),
        sa.Column("record", JSON, nullable=False),
    )


# The staging tables the migrations made, for the built-in sources. A plug-in source's table has the
# same shape, is declared apart from the migrated schema, and is made when it is first needed
# (etl_worker.db.staging.ensure_staging_table).
MIGRATED_STAGING: dict[str, sa.Table] = {
    s: _staging(s, metadata) for s in ("pff", "cfr", "nfl", "yahoo", "pfr", "espn")
}
_PLUGIN_STAGING: dict[str, sa.Table] = {}
_plugin_metadata = sa.MetaData(naming_convention=metadata.naming_convention)
_SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def staging_table(source: str) -> sa.Table:
    """The staging table of ``source``, a registered source's name (checked again here: it names a table)."""
    if source in MIGRATED_STAGING:
        return MIGRATED_STAGING[source]
    if source not in _PLUGIN_STAGING:
        if not _SOURCE_NAME.fullmatch(source):
            raise ValueError(f"not a source name: {source!r}")
        _PLUGIN_STAGING[source] = _staging(source, _plugin_metadata)
    return _PLUGIN_STAGING[source]


# --- work tables: extraction-scoped output of transform and merge -------------------------------

transform_batches = sa.Table(
    "transform_batches",
    metadata,
    sa.Column("extraction_id", UUID, primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("batch_no", sa.Integer, primary_key=True),
    sa.Column("row_lo", sa.Integer, nullable=False),
    sa.Column("row_hi", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("records_processed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("records_succeeded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("records_failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error_message", sa.Text),
    sa.Column("task_id", sa.Text),
    sa.Column("updated_at", TS, nullable=False, server_default=_now()),
)


def _work_key() -> list[sa.Column]:
    return [
        sa.Column("extraction_id", UUID, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("row_number", sa.Integer, primary_key=True),
    ]


MEASUREMENT_FIELDS = (
    "height_in",
    "weight_lb",
    "arm_in",
    "hand_in",
    "forty",
    "ten_split",
    "bench",
    "vertical",
    "broad",
    "three_cone",
    "shuttle",
)

STAT_FIELDS = (
    "games",
    "pass_cmp",
    "pass_att",
    "pass_yds",
    "pass_td",
    "pass_int",
    "rush_att",
    "rush_yds",
    "rush_td",
    "rec",
    "rec_yds",
    "rec_td",
)


def _draft_columns() -> list[sa.Column]:
    return [sa.Column("draft_round", sa.Integer), sa.Column("draft_pick", sa.Integer), sa.Column("draft_team", sa.Text)]


# The facts of a record, the same in the work tables (one row per staged record) and in the canonical
# tables (one row per person and source). Each call makes new columns: a column belongs to one table.
def _grade_columns(key: bool) -> list[sa.Column]:
    return [
        sa.Column("grade_type", sa.Text, primary_key=key, nullable=False),
        sa.Column("grade", sa.Float),
        sa.Column("scale", sa.Text),
        sa.Column("grade_normalized", sa.Float),
        sa.Column("rank", sa.Integer),
        sa.Column("position_rank", sa.Integer),
        sa.Column("season", sa.Integer),
    ]


def _measurement_columns() -> list[sa.Column]:
    return [sa.Column(name, sa.Float) for name in MEASUREMENT_FIELDS]


def _season_columns(key: bool) -> list[sa.Column]:
    return [
        sa.Column("season", sa.Integer, primary_key=key, nullable=False),
        sa.Column("team", sa.Text, primary_key=key, nullable=False),
        *[sa.Column(name, sa.Float) for name in STAT_FIELDS],
    ]


work_prospects = sa.Table(
    "work_prospects",
    metadata,
    *_work_key(),
    sa.Column("full_name", sa.Text, nullable=False),
    sa.Column("name_key", sa.Text, nullable=False),
    sa.Column("surname_key", sa.Text, nullable=False),
    sa.Column("position", sa.Text),
    sa.Column("position_group", sa.Text),
    sa.Column("college", sa.Text),
    sa.Column("college_key", sa.Text),
    sa.Column("draft_year", sa.Integer),
    sa.Column("source_player_id", sa.Text),
    sa.Column("other_ids", JSONB),
    *_draft_columns(),
    # The bucket of the record's surname block: a merge part resolves a range of buckets
    # (etl_worker.phases.resolve.block_bucket).
    sa.Column("block_bucket", sa.SmallInteger, nullable=False),
    # Another record of the extraction carries the same source id (an id error in the export): the merge
    # does not join by it. Marked by validate (etl_worker.db.work.mark_shared_ids).
    sa.Column("id_shared", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_work_prospects_extraction_bucket_surname_key", "extraction_id", "block_bucket", "surname_key"),
    # Validate groups the extraction's records by source id.
    sa.Index("ix_work_prospects_extraction_source_player_id", "extraction_id", "source", "source_player_id"),
)

work_grades = sa.Table(
    "work_grades",
    metadata,
    *_work_key(),
    *_grade_columns(key=True),
)

work_measurements = sa.Table(
    "work_measurements",
    metadata,
    *_work_key(),
    *_measurement_columns(),
)

work_college_stats = sa.Table(
    "work_college_stats",
    metadata,
    *_work_key(),
    *_season_columns(key=True),
)

work_merged_prospects = sa.Table(
    "work_merged_prospects",
    metadata,
    sa.Column("extraction_id", UUID, primary_key=True),
    sa.Column("match_key", sa.Text, primary_key=True),
    sa.Column("full_name", sa.Text, nullable=False),
    sa.Column("name_key", sa.Text, nullable=False),
    sa.Column("name_keys", JSONB),  # every name its records go by (folded)
    sa.Column("surname_key", sa.Text, nullable=False),
    sa.Column("position", sa.Text),
    sa.Column("position_group", sa.Text),
    sa.Column("college", sa.Text),
    sa.Column("college_key", sa.Text),  # the college folded for matching (etl_worker.normalize.college_key)
    sa.Column("draft_year", sa.Integer),
    sa.Column("source_ids", JSONB, nullable=False),
    sa.Column("source_records", sa.Integer, nullable=False),
    *_draft_columns(),
    # A person placed from several blocks has a row in each until the merge joins them (weigh_people).
    sa.Column("block_bucket", sa.SmallInteger, primary_key=True),
    # Per field, the priority of the source its value came from (etl_worker.sources: lowest first).
    sa.Column("ranks", JSONB, nullable=False),
)

match_reviews = sa.Table(
    "match_reviews",
    metadata,
    *_work_key(),
    sa.Column("full_name", sa.Text, nullable=False),
    sa.Column("draft_year", sa.Integer),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("candidates", JSONB, nullable=False),
    sa.Column("created_at", TS, nullable=False, server_default=_now()),
    sa.Column("review_id", sa.BigInteger, sa.Identity(), nullable=False, unique=True),  # what an operator types
    # Held by the weighing after the merge parts (etl_worker.phases.weigh), not by a part's block.
    sa.Column("weighed", sa.Boolean, nullable=False, server_default=sa.false()),
)

# An operator's answer to a review, kept by the source record's identity (record_key: its source id,
# else its name, class and college) so that the next extraction carrying that record follows it.
review_decisions = sa.Table(
    "review_decisions",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("record_key", sa.Text, primary_key=True),
    sa.Column("decision", sa.Text, nullable=False),
    sa.Column("match_key", sa.Text, nullable=False),  # the person: the one chosen, or the new one
    sa.Column("decided_by", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("decided_at", TS, nullable=False, server_default=_now()),
    sa.Column("extraction_id", UUID, nullable=False),  # the record it was first made on
    sa.Column("row_number", sa.Integer, nullable=False),
    sa.CheckConstraint("decision IN ('into', 'new_person')", name="ck_review_decisions_decision"),
)

WORK_TABLES = (work_prospects, work_grades, work_measurements, work_college_stats)

# --- canonical tables: written only by the load phase --------------------------------------------

prospect_core = sa.Table(
    "prospect_core",
    metadata,
    sa.Column("prospect_id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("match_key", sa.Text, nullable=False, unique=True),
    sa.Column("full_name", sa.Text, nullable=False),
    sa.Column("name_key", sa.Text, nullable=False),
    # Every name its loaded records go by ('temuchin hodges', 'bucky hodges'): a record joins on any of them.
    sa.Column("name_keys", JSONB),
    sa.Column("surname_key", sa.Text, nullable=False, index=True),
    sa.Column("position", sa.Text),
    sa.Column("position_group", sa.Text),
    sa.Column("college", sa.Text),
    sa.Column("college_key", sa.Text),  # the college folded for matching: what the weighing blocks on
    sa.Column("draft_year", sa.Integer),
    sa.Column("source_ids", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    *_draft_columns(),
    # Per field, the priority of the source its value came from: a load replaces a value only with one
    # from a source at least as trusted, so the row does not depend on the order extractions came in.
    sa.Column("ranks", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("created_at", TS, nullable=False, server_default=_now()),
    sa.Column("updated_at", TS, nullable=False, server_default=_now()),
)


def _fact_key() -> list[sa.Column]:
    return [
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("prospect_id", sa.BigInteger, sa.ForeignKey("prospect_core.prospect_id"), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
    ]


prospect_grades = sa.Table(
    "prospect_grades",
    metadata,
    *_fact_key(),
    *_grade_columns(key=False),
    sa.Column("updated_at", TS, nullable=False, server_default=_now()),
    sa.UniqueConstraint("prospect_id", "source", "grade_type"),
)

prospect_measurements = sa.Table(
    "prospect_measurements",
    metadata,
    *_fact_key(),
    *_measurement_columns(),
    sa.Column("updated_at", TS, nullable=False, server_default=_now()),
    sa.UniqueConstraint("prospect_id", "source"),
)

prospect_college_stats = sa.Table(
    "prospect_college_stats",
    metadata,
    *_fact_key(),
    *_season_columns(key=False),
    sa.Column("updated_at", TS, nullable=False, server_default=_now()),
    sa.UniqueConstraint("prospect_id", "source", "season", "team"),
)

# --- metadata: lineage, quality, quarantine, the load ledger -------------------------------------

# Every staged record a merge placed, and the person it was placed on, written by the parallel merge
# parts of the execution that merged (``execution_id``). The load reads the links of the merge it loads
# (``extraction_loads.merged_by``); readers see them through the view ``data_lineage`` (canonical
# table, canonical id, staged row), which shows only the links of the merge an extraction's load
# committed: all of a load's lineage appears in the load's commit, none of a merge that was not loaded.
lineage_links = sa.Table(
    "lineage_links",
    metadata,
    sa.Column("extraction_id", UUID, primary_key=True),
    sa.Column("execution_id", UUID, primary_key=True),
    sa.Column("block_bucket", sa.SmallInteger, primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("row_number", sa.Integer, primary_key=True),
    sa.Column("match_key", sa.Text, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    # What the record shared with the person it joined, field by field (etl_worker.phases.resolve.agreement).
    sa.Column("evidence", JSONB),
)

quality_metrics = sa.Table(
    "quality_metrics",
    metadata,
    sa.Column("execution_id", UUID, primary_key=True),
    sa.Column("rule", sa.Text, primary_key=True),
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("extraction_id", UUID, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("value", sa.Float),
    sa.Column("warn_threshold", sa.Float),
    sa.Column("fail_threshold", sa.Float),
    sa.Column("message", sa.Text),
    sa.Column("measured_at", TS, nullable=False, server_default=_now()),
)

quarantined_records = sa.Table(
    "quarantined_records",
    metadata,
    *_work_key(),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("record", JSONB, nullable=False),
    sa.Column("quarantined_at", TS, nullable=False, server_default=_now()),
)

extraction_loads = sa.Table(
    "extraction_loads",
    metadata,
    sa.Column("extraction_id", UUID, sa.ForeignKey("extractions.extraction_id"), primary_key=True),
    sa.Column("execution_id", UUID, nullable=False),
    # The execution whose merge was loaded (itself, or for a replay from load the one it replays).
    sa.Column("merged_by", UUID, nullable=False),
    sa.Column("counts", JSONB, nullable=False),
    sa.Column("loaded_at", TS, nullable=False, server_default=_now()),
)

# --- tracking: execution history, written by the pipeline and the listener ------------------------

etl_executions = sa.Table(
    "etl_executions",
    metadata,
    sa.Column("execution_id", UUID, primary_key=True),
    sa.Column("extraction_id", UUID, nullable=False, index=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("transformer_types", JSONB, nullable=False),
    sa.Column("started_at", TS, nullable=False, server_default=_now()),
    sa.Column("completed_at", TS),
    sa.Column("duration_seconds", sa.Float),
    sa.Column("deadline_at", TS, nullable=False),
    sa.Column("total_prospects_loaded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_grades_loaded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_measurements_loaded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_stats_loaded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("quality_score", sa.Float),
    sa.Column("error_summary", sa.Text),
    sa.Column("hostname", sa.Text),
    sa.Column("planned_batches", JSONB),
    sa.Column("batch_size", sa.Integer),
    # A replay is a new execution of the same extraction that reuses the work of an earlier one.
    sa.Column("replay_of", UUID),
    sa.Column("replay_from", sa.Text),
    sa.Column("requested_by", sa.Text),  # who started it: user@host, "user (console)"; none for the scheduler
    # The canvas it was started with (context and batch plan), to resume it when the broker lost it.
    sa.Column("pipeline", JSONB),
    sa.Column("resumes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("resumed_at", TS),
    sa.Column("resumed_from", sa.Text),
    sa.Index(
        "uq_etl_executions_active_extraction",
        "extraction_id",
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    ),
)

etl_phase_runs = sa.Table(
    "etl_phase_runs",
    metadata,
    sa.Column("execution_id", UUID, primary_key=True),
    sa.Column("phase", sa.Text, primary_key=True),
    sa.Column("task_id", sa.Text),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("started_at", TS),
    sa.Column("completed_at", TS),
    sa.Column("duration_seconds", sa.Float),
    sa.Column("hostname", sa.Text),
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("error_message", sa.Text),
    sa.Column("updated_at", TS, nullable=False, server_default=_now()),
)

# How often each task (per retry) was handed to a worker: a task whose worker dies every time is given
# up after a bounded number of deliveries, counted here where no broker restart can lose the count.
task_deliveries = sa.Table(
    "task_deliveries",
    metadata,
    sa.Column("task_id", sa.Text, primary_key=True),
    sa.Column("retry", sa.Integer, primary_key=True),
    sa.Column("execution_id", UUID, nullable=False, index=True),
    sa.Column("deliveries", sa.Integer, nullable=False),
    sa.Column("first_at", TS, nullable=False, server_default=_now()),
    sa.Column("last_at", TS, nullable=False, server_default=_now()),
    sa.Column("task_name", sa.Text),
    sa.Column("hostname", sa.Text),  # the worker that last started it
    sa.Column("finished_at", TS),  # when its last delivery finished (None while it runs)
    # Handed back to the queue by the reaper because the worker holding it was lost.
    sa.Column("handovers", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lost_worker", sa.Text),
    sa.Column("handed_over_at", TS),
)

etl_transformer_runs = sa.Table(
    "etl_transformer_runs",
    metadata,
    sa.Column("task_id", sa.Text, primary_key=True),
    sa.Column("execution_id", UUID, nullable=False, index=True),
    sa.Column("extraction_id", UUID, nullable=False),
    sa.Column("transformer_type", sa.Text, nullable=False),
    sa.Column("batch_no", sa.Integer, nullable=False),
    sa.Column("row_lo", sa.Integer),
    sa.Column("row_hi", sa.Integer),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("started_at", TS),
    sa.Column("completed_at", TS),
    sa.Column("duration_seconds", sa.Float),
    sa.Column("records_processed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("records_succeeded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("records_failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("hostname", sa.Text),
    sa.Column("error_message", sa.Text),
    sa.Column("updated_at", TS, nullable=False, server_default=_now()),
)

# --- operations: alerts, history rollups, the drop folder --------------------------------------

etl_alerts = sa.Table(
    "etl_alerts",
    metadata,
    sa.Column("alert_id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("execution_id", UUID, nullable=False),
    sa.Column("extraction_id", UUID, nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("created_at", TS, nullable=False, server_default=_now()),
    # Per sink: "delivered", or the last delivery error.
    sa.Column("deliveries", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.UniqueConstraint("execution_id", "rule", "scope"),
    sa.Index("ix_etl_alerts_created_at", "created_at"),
)

# Per day (UTC, of the start), what pruned history said: kind is "execution" (name "all"), "phase"
# (name = phase) or "source" (name = transformer type, one row per batch). "others" counts runs that
# neither succeeded nor failed (partial successes, skipped phases); "records" counts prospects loaded
# (executions) or records transformed (sources). Kept forever.
etl_daily_rollups = sa.Table(
    "etl_daily_rollups",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("runs", sa.Integer, nullable=False),
    sa.Column("successes", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("others", sa.Integer, nullable=False),
    sa.Column("timed_runs", sa.Integer, nullable=False),
    sa.Column("duration_sum", sa.Float, nullable=False),
    sa.Column("duration_p50", sa.Float),
    sa.Column("duration_p95", sa.Float),
    sa.Column("records", sa.BigInteger, nullable=False),
    sa.Column("last_started_at", TS),
)

# Files taken from the drop folder, by content: a file is ingested once, whatever its name.
dropped_files = sa.Table(
    "dropped_files",
    metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # taking, enqueued, rejected
    sa.Column("source", sa.Text),
    sa.Column("extraction_id", UUID),
    sa.Column("execution_id", UUID),
    sa.Column("message", sa.Text),
    sa.Column("seen_at", TS, nullable=False, server_default=_now()),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),  # claims by watchers
)
