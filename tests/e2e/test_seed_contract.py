"""The seed's contract (ETL-009 report): its 27 tests by name, and its usage example as written, run on
real workers, real Redis and real PostgreSQL.

Where the seed's semantics differ from ours the test says so: a failed phase halts the run (the seed
went on), and a run of no transformer is refused before anything is enqueued (the seed ran an empty one).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import io
import sys
import textwrap
import types
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from etl_worker.errors import ConfigurationError
from etl_worker.ingest import ingest_file
from etl_worker.models import (
    PHASES,
    ETLExecution,
    ETLPhase,
    ETLStatus,
    PhaseExecution,
    TransformerExecution,
    TransformerType,
)
from etl_worker.orchestrator import ETLOrchestrator
from etl_worker.rules import RULES, DataQualityValidator
from etl_worker.sources.cfr import CfrSource
from etl_worker.sources.nfl import NflSource
from etl_worker.sources.pff import PffSource
from tests.e2e.seed_plugins import TeamPffSource
from tests.helpers import FIXTURES, canonical_snapshot, execute, stage_fixtures

NOW = datetime(2026, 4, 23, 20, 0, tzinfo=UTC)


def _rows(settings, sql: str, **params):  # type: ignore[no-untyped-def]
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def orchestrator(settings, stack):  # type: ignore[no-untyped-def]
    return ETLOrchestrator(settings=settings)


def _run(orchestrator: ETLOrchestrator, extraction_id: str | uuid.UUID, types=None) -> ETLExecution:  # type: ignore[no-untyped-def]
    return asyncio.run(orchestrator.execute_extraction(extraction_id, transformer_types=types))


class TestTransformerExecution:
    def test_create_transformer_execution(self) -> None:
        record = TransformerExecution(transformer_type=TransformerType.PFF, extraction_id="e1", started_at=NOW)
        assert (record.status, record.records_processed, record.records_failed, record.error_message) == (
            "pending",
            0,
            0,
            None,
        )

    def test_transformer_execution_as_dict(self) -> None:
        record = TransformerExecution(
            TransformerType.CFR, "e1", NOW, NOW, 1.5, "success", records_processed=10, records_succeeded=9
        )
        shown = record.as_dict()
        assert shown["transformer_type"] == "cfr" and shown["status"] == "success"
        assert shown["started_at"] == NOW.isoformat() and shown["records_succeeded"] == 9


class TestPhaseExecution:
    def test_create_phase_execution(self) -> None:
        phase = PhaseExecution(phase=ETLPhase.EXTRACT, extraction_id="e1")
        assert phase.status == "pending" and phase.details == {} and phase.error_message is None

    def test_phase_execution_as_dict(self) -> None:
        phase = PhaseExecution(ETLPhase.LOAD, "e1", NOW, NOW, 0.2, "failed", {"rows": 3}, "boom")
        assert phase.as_dict() | {"task_id": None, "hostname": None} == {
            "phase": "load",
            "extraction_id": "e1",
            "started_at": NOW.isoformat(),
            "completed_at": NOW.isoformat(),
            "duration_seconds": 0.2,
            "status": "failed",
            "details": {"rows": 3},
            "error_message": "boom",
            "task_id": None,
            "hostname": None,
        }


class TestETLExecution:
    def test_create_etl_execution(self) -> None:
        execution = ETLExecution(execution_id="x1", extraction_id="e1", started_at=NOW)
        assert execution.phases == [] and execution.transformers == [] and execution.total_prospects_loaded == 0

    def test_etl_execution_as_dict(self) -> None:
        execution = ETLExecution("x1", "e1", NOW, NOW, 3.0, ETLStatus.SUCCESS, quality_score=97.5)
        shown = execution.as_dict()
        assert shown["overall_status"] == "success" and shown["quality_score"] == 97.5
        assert shown["phases"] == [] and shown["started_at"] == NOW.isoformat()

    def test_etl_execution_with_phases(self) -> None:
        phases = [PhaseExecution(p, "e1", status="success") for p in ETLPhase]
        execution = ETLExecution("x1", "e1", phases=phases)
        assert [p["phase"] for p in execution.as_dict()["phases"]] == list(PHASES)


class TestETLOrchestrator:
    def test_orchestrator_initialization(self, settings) -> None:  # type: ignore[no-untyped-def]
        orchestrator = ETLOrchestrator(settings=settings)
        # Unset means "from settings": ETL_MAX_RECORDS_PER_BATCH and ETL_TIMEOUT_SECONDS win.
        assert orchestrator.settings.max_records_per_batch == settings.max_records_per_batch
        assert orchestrator.settings.timeout_seconds == settings.timeout_seconds
        assert orchestrator.transformers is None and orchestrator.rules is None

    def test_orchestrator_custom_config(self, settings) -> None:  # type: ignore[no-untyped-def]
        orchestrator = ETLOrchestrator(max_records_per_batch=500, timeout_seconds=1800, settings=settings)
        assert (orchestrator.settings.max_records_per_batch, orchestrator.settings.timeout_seconds) == (500, 1800)
        with pytest.raises(ConfigurationError, match="SQLAlchemy session, engine or URL"):
            ETLOrchestrator(db=object(), settings=settings)

    def test_orchestrator_with_transformers(self, settings, stack) -> None:  # type: ignore[no-untyped-def]
        team = ETLOrchestrator(
            transformers={TransformerType.PFF: TeamPffSource, TransformerType.YAHOO: None}, settings=settings
        )
        assert team.transformers == {"pff": "tests.e2e.seed_plugins:TeamPffSource", "yahoo": None}
        execution = _run(team, stage_fixtures(settings, ("pff", "yahoo", "nfl")))
        assert execution.overall_status == "success", execution.error_summary
        # The team's adapter read PFF on the workers; NFL was staged but not chosen.
        assert {t.transformer_type for t in execution.transformers} == {"pff", "yahoo"}
        grade_types = {
            r[0]
            for r in _rows(
                settings,
                "SELECT DISTINCT g.grade_type FROM prospect_grades g JOIN data_lineage l "
                "ON l.canonical_table = 'prospect_grades' AND l.canonical_id = g.id "
                "WHERE l.execution_id = :e AND l.source = 'pff'",
                e=execution.execution_id,
            )
        }
        assert grade_types == {"team_pff_overall", "team_pff_position"}
        for bad, said in (
            (object(), "is not an installed plug-in"),
            ("tests.e2e.seed_plugins:Nowhere", "cannot be imported"),
            (CfrSource, "adapter of source 'cfr', not 'pff'"),
        ):
            with pytest.raises(ConfigurationError, match=said):
                ETLOrchestrator(transformers={TransformerType.PFF: bad}, settings=settings)

    def test_orchestrator_with_validator(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        chosen = ETLOrchestrator(
            validator=DataQualityValidator(["rows_transformed", "error_rate", "completeness"]), settings=settings
        )
        execution = _run(chosen, stage_fixtures(settings, ("pff", "yahoo")))
        assert execution.overall_status == "success", execution.error_summary
        applied = _rows(
            settings, "SELECT DISTINCT rule FROM quality_metrics WHERE execution_id = :e", e=execution.execution_id
        )
        assert {r[0] for r in applied} == {"transformer_failures", "rows_transformed", "error_rate", "completeness"}
        with pytest.raises(ConfigurationError, match="unknown data-quality rule 'no_such_rule'"):
            DataQualityValidator(["no_such_rule"])

    def test_execute_extraction_phases(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        execution = _run(orchestrator, uuid.UUID(stage_fixtures(settings)))
        assert execution.overall_status == "success", execution.error_summary
        assert [(p.phase, p.status) for p in execution.phases] == [(p, "success") for p in PHASES]
        assert execution.duration_seconds is not None and execution.duration_seconds > 0

    def test_extract_phase_execution(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        execution = _run(orchestrator, stage_fixtures(settings, ("pff", "cfr")), [TransformerType.PFF])
        extract = execution.phases[0]
        assert extract.phase == "extract" and extract.status == "success"
        assert extract.details["staging_counts"] == {"pff": 10}

    def test_transform_phase_no_transformers(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        # Ours differs: the seed ran an empty transform; a run of no source is refused before it is enqueued.
        before = _rows(settings, "SELECT count(*) FROM etl_executions")
        with pytest.raises(ConfigurationError, match="no transformer to run"):
            _run(ETLOrchestrator(transformers={}, settings=settings), stage_fixtures(settings, ("pff",)))
        assert _rows(settings, "SELECT count(*) FROM etl_executions") == before

    def test_validate_phase_no_validator(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        execution = _run(orchestrator, stage_fixtures(settings, ("pff", "yahoo")))
        validate = next(p for p in execution.phases if p.phase == "validate")
        assert validate.status == "success" and validate.details["overall_status"] in ("PASS", "PASS_WITH_WARNINGS")
        applied = {
            r[0]
            for r in _rows(
                settings, "SELECT DISTINCT rule FROM quality_metrics WHERE execution_id = :e", e=execution.execution_id
            )
        }
        assert {"error_rate", "completeness", "rows_transformed", "quarantine_rate"} <= applied
        assert execution.quality_score == validate.details["quality_score"]

    def test_validate_phase_with_validator(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        strict = ETLOrchestrator(
            validator=DataQualityValidator([*(r.name for r in RULES), "tests.e2e.seed_plugins:NEEDS_A_MILLION_ROWS"]),
            settings=settings,
        )
        before = canonical_snapshot(settings.database_url)
        execution = _run(strict, stage_fixtures(settings, ("pff",)))
        assert execution.overall_status == "failed"
        assert "team_needs_a_million_rows[all]" in (execution.error_summary or "")
        # Ours differs: a FAIL halts the run, so nothing after validate runs and nothing is loaded.
        assert [(p.phase, p.status) for p in execution.phases][2:] == [
            ("validate", "failed"),
            ("merge", "skipped"),
            ("load", "skipped"),
            ("publish", "skipped"),
        ]
        assert canonical_snapshot(settings.database_url) == before

    def test_merge_phase_execution(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        execution = _run(orchestrator, stage_fixtures(settings, ("nfl", "yahoo")))
        merge = next(p for p in execution.phases if p.phase == "merge")
        assert merge.status == "success"
        assert merge.details["records_linked"] == sum(t.records_succeeded for t in execution.transformers)

    def test_load_phase_success(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        execution = _run(orchestrator, stage_fixtures(settings, ("nfl",)))
        load = next(p for p in execution.phases if p.phase == "load")
        assert load.status == "success" and execution.total_measurements_loaded == 31
        loaded = _rows(
            settings,
            "SELECT count(DISTINCT canonical_id) FROM data_lineage "
            "WHERE execution_id = :e AND canonical_table = 'prospect_measurements'",
            e=execution.execution_id,
        )
        assert loaded == [(31,)]

    def test_load_phase_failure_rollback(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        execute(
            settings.database_url,
            "CREATE FUNCTION refuse_grades() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'grades refused by the test'; END $$;"
            "CREATE TRIGGER refuse_grades BEFORE INSERT ON prospect_grades "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_grades()",
        )
        try:
            before = canonical_snapshot(settings.database_url)
            execution = _run(orchestrator, stage_fixtures(settings, ("pff", "nfl")))
        finally:
            execute(
                settings.database_url, "DROP TRIGGER refuse_grades ON prospect_grades; DROP FUNCTION refuse_grades()"
            )
        load = next(p for p in execution.phases if p.phase == "load")
        assert execution.overall_status == "failed" and load.status == "failed"
        assert "grades refused by the test" in (load.error_message or "")
        # The prospects and measurements written before the refused grades were rolled back with them.
        assert canonical_snapshot(settings.database_url) == before
        assert execution.total_prospects_loaded == 0

    def test_publish_phase_execution(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        execution = _run(orchestrator, stage_fixtures(settings, ("yahoo",)))
        publish = execution.phases[-1]
        assert publish.phase == "publish" and publish.status == "success"
        assert sorted(publish.details["refreshed"]) == [
            "mv_position_benchmarks",
            "mv_position_statistics",
            "mv_prospect_quality_scores",
        ]

    def test_execution_history_tracking(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        first = _run(orchestrator, stage_fixtures(settings, ("yahoo",)))
        second = _run(orchestrator, stage_fixtures(settings, ("pff",)))
        history = orchestrator.get_execution_history(limit=2)
        assert [e.execution_id for e in history] == [second.execution_id, first.execution_id]
        assert [len(e.phases) for e in history] == [6, 6]

    def test_execution_summary_calculation(self, settings, orchestrator) -> None:  # type: ignore[no-untyped-def]
        before = orchestrator.get_execution_summary()["executions_by_status"]
        good = [_run(orchestrator, stage_fixtures(settings, ("yahoo",))) for _ in range(2)]
        bad = _run(orchestrator, str(uuid.uuid4()))  # no such extraction: failed, with one line
        assert [e.overall_status for e in good] == ["success"] * 2 and bad.overall_status == "failed"
        assert bad.error_summary == f"extraction {bad.extraction_id} does not exist"
        summary = orchestrator.get_execution_summary()
        by_status = summary["executions_by_status"]
        assert (by_status["success"] - before["success"], by_status["failed"] - before["failed"]) == (2, 1)
        finished = sum(by_status[s.value] for s in ETLStatus)
        assert summary["total_executions"] == finished + by_status["running"]
        assert summary["success_rate"] == round(100.0 * by_status["success"] / finished, 2)
        assert summary["average_duration_seconds"] > 0

    def test_execution_summary_empty_history(self, settings, empty_database_url) -> None:  # type: ignore[no-untyped-def]
        empty = ETLOrchestrator(db=empty_database_url, settings=settings)
        summary = empty.get_execution_summary()
        assert summary["total_executions"] == 0 and summary["success_rate"] == 0.0
        assert summary["average_duration_seconds"] is None and empty.get_execution_history(limit=10) == []


class TestETLPhases:
    def test_all_phases_defined(self) -> None:
        assert {p.value for p in ETLPhase} == {"extract", "transform", "validate", "merge", "load", "publish"}

    def test_phase_ordering(self) -> None:
        assert list(ETLPhase) == [
            ETLPhase.EXTRACT,
            ETLPhase.TRANSFORM,
            ETLPhase.VALIDATE,
            ETLPhase.MERGE,
            ETLPhase.LOAD,
            ETLPhase.PUBLISH,
        ]


class TestTransformerTypes:
    def test_all_transformers_defined(self) -> None:
        # The seed's four, and the two sources added since.
        assert {"pff", "cfr", "nfl", "yahoo"} <= {t.value for t in TransformerType}

    def test_transformer_values(self) -> None:
        assert (TransformerType.PFF, TransformerType.CFR, TransformerType.NFL, TransformerType.YAHOO) == (
            "pff",
            "cfr",
            "nfl",
            "yahoo",
        )


# The report's "Usage Example", character for character. Its imports name the seed's own modules
# (src.data_pipeline...): the test points those names at ours, etl_worker.orchestrator and etl_worker.rules.
USAGE_EXAMPLE = """
from src.data_pipeline.etl_orchestrator import ETLOrchestrator, TransformerType
from src.data_pipeline.validation.data_quality_validator import DataQualityValidator
from uuid import uuid4

# Initialize orchestrator with transformers and validator
orchestrator = ETLOrchestrator(
    db=async_session,
    transformers={
        TransformerType.PFF: pff_transformer,
        TransformerType.CFR: cfr_transformer,
        TransformerType.NFL: nfl_transformer,
    },
    validator=data_quality_validator,
    max_records_per_batch=500,
    timeout_seconds=1800,
)

# Execute ETL pipeline
extraction_id = uuid4()
execution = await orchestrator.execute_extraction(
    extraction_id,
    transformer_types=[TransformerType.PFF, TransformerType.CFR],
)

# Check results
if execution.overall_status == "success":
    print(f"Pipeline succeeded!")
    print(f"Prospects loaded: {execution.total_prospects_loaded}")
    print(f"Quality score: {execution.quality_score}%")
else:
    print(f"Pipeline failed: {execution.error_summary}")

# Get history and statistics
history = orchestrator.get_execution_history(limit=10)
summary = orchestrator.get_execution_summary()
print(f"Success rate: {summary['success_rate']}%")
"""


@contextlib.contextmanager
def _seed_module_names() -> Iterator[None]:
    """The seed's module names, for the time of the example, standing for ours."""
    import etl_worker.orchestrator
    import etl_worker.rules

    names = {
        "src": types.ModuleType("src"),
        "src.data_pipeline": types.ModuleType("src.data_pipeline"),
        "src.data_pipeline.etl_orchestrator": etl_worker.orchestrator,
        "src.data_pipeline.validation": types.ModuleType("src.data_pipeline.validation"),
        "src.data_pipeline.validation.data_quality_validator": etl_worker.rules,
    }
    assert not set(names) & set(sys.modules)
    sys.modules.update(names)
    try:
        yield
    finally:
        for name in names:
            del sys.modules[name]


def _usage_example(settings, staged: bool) -> tuple[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    """Run the example with a real AsyncSession; ``staged`` stages the PFF and CFR fixtures under the
    example's own ``uuid4()`` before it runs (one line added where the seed's caller would stage)."""
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    source = USAGE_EXAMPLE
    if staged:
        source = source.replace(
            "extraction_id = uuid4()\n", "extraction_id = uuid4()\nstage(extraction_id)  # added: the rows to run\n"
        )

    def stage(extraction_id: uuid.UUID) -> None:
        for name in ("pff", "cfr"):
            ingest_file(settings, name, FIXTURES / f"{name}.csv", extraction_id, create=True)

    engine = create_async_engine(make_url(settings.database_url).set(drivername="postgresql+asyncpg"))
    namespace = {
        "async_session": AsyncSession(engine),
        "pff_transformer": PffSource(),
        "cfr_transformer": CfrSource(),
        "nfl_transformer": NflSource(),
        "data_quality_validator": DataQualityValidator(),
        "stage": stage,
    }
    code = compile(textwrap.dedent(source), "usage_example", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    printed = io.StringIO()
    with _seed_module_names(), contextlib.redirect_stdout(printed):
        awaited = eval(code, namespace)
        if awaited is not None:
            asyncio.run(awaited)
    asyncio.run(engine.dispose())
    return printed.getvalue(), namespace


def test_the_seeds_usage_example_runs_as_written(settings, stack) -> None:  # type: ignore[no-untyped-def]
    printed, ran = _usage_example(settings, staged=True)
    execution = ran["execution"]
    assert execution.overall_status == "success", execution.error_summary
    assert {t.transformer_type for t in execution.transformers} == {"pff", "cfr"}
    assert printed.splitlines()[:3] == [
        "Pipeline succeeded!",
        f"Prospects loaded: {execution.total_prospects_loaded}",
        f"Quality score: {execution.quality_score}%",
    ]
    assert execution.total_prospects_loaded > 0
    assert printed.splitlines()[3] == f"Success rate: {ran['summary']['success_rate']}%"
    assert execution.execution_id in [e.execution_id for e in ran["history"]]


def test_the_seeds_usage_example_unchanged_says_its_new_extraction_has_no_rows(settings, stack) -> None:  # type: ignore[no-untyped-def]
    printed, ran = _usage_example(settings, staged=False)
    assert printed.splitlines()[0] == f"Pipeline failed: extraction {ran['extraction_id']} does not exist"
    assert ran["execution"].overall_status == "failed"


def test_a_transformer_the_workers_cannot_import_fails_the_run_in_one_line(
    settings, stack, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "producer_only.py").write_text(
        "from etl_worker.sources.pff import PffSource\n\nclass ProducerOnlyPff(PffSource):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))  # importable here, on the producer, and nowhere else
    monkeypatch.setenv("ETL_PLUGIN_MODULES", "tests,producer_only")  # ... and allowed here only
    from producer_only import ProducerOnlyPff  # type: ignore[import-not-found]

    runner = ETLOrchestrator(transformers={TransformerType.PFF: ProducerOnlyPff}, settings=settings)
    before = canonical_snapshot(settings.database_url)
    execution = _run(runner, stage_fixtures(settings, ("pff",)))
    assert execution.overall_status == "failed"
    assert execution.error_summary is not None
    assert execution.error_summary.startswith(
        "the transformer for pff producer_only:ProducerOnlyPff is not an installed plug-in: register it "
    ), execution.error_summary
    assert "ETL_PLUGIN_MODULES" in execution.error_summary and "(on worker w" in execution.error_summary
    assert "\n" not in execution.error_summary and execution.transformers == []
    assert canonical_snapshot(settings.database_url) == before
