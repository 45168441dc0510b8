"""A team's plug-in package from outside etl_worker (examples/team_scouting: a source and a rule),
installed with pip and found by its entry points, runs end to end on real workers, and its rule fails
a run. The package goes into a directory of this module's own on the producer's and the workers'
path, not into the shared venv, so that no other test sees its source."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl_worker.ingest import ingest_file
from etl_worker.orchestrator import ETLOrchestrator
from tests.helpers import FIXTURES, canonical_snapshot, scalar

EXAMPLE = Path(__file__).parents[2] / "examples" / "team_scouting"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from etl_worker import sources

    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(EXAMPLE)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    sys.path.insert(0, str(target))
    sources.registry.cache_clear()
    yield target
    sys.path.remove(str(target))
    sources.registry.cache_clear()


@pytest.fixture(scope="module")
def worker_path(installed: Path) -> list[str]:
    return [str(Path(__file__).parents[2]), str(installed)]


def test_the_example_plugin_source_runs_end_to_end_and_merges_with_the_public_sources(settings, stack) -> None:  # type: ignore[no-untyped-def]
    from etl_worker.db.migrate import upgrade

    upgrade(settings.database_url)  # makes the staging table of every installed plug-in source
    assert scalar(settings, "SELECT to_regclass('scouting_staging')::text") == "scouting_staging"

    staged = ingest_file(settings, "scouting", EXAMPLE / "scouting_2015.csv")
    ingest_file(settings, "pff", FIXTURES / "pff.csv", staged.extraction_id)
    execution = ETLOrchestrator(settings=settings).execute_extraction_sync(staged.extraction_id)

    assert execution.overall_status == "success", execution.error_summary
    assert {t.transformer_type for t in execution.transformers} == {"scouting", "pff"}
    # The department's grade of Jameis Winston sits on the same person as PFF's.
    sources = scalar(
        settings,
        "SELECT string_agg(DISTINCT g.source || ':' || g.grade_type, ',' ORDER BY g.source || ':' || g.grade_type) "
        "FROM prospect_grades g JOIN prospect_core p USING (prospect_id) WHERE p.full_name = 'Jameis Winston'",
    )
    assert sources == "pff:pff_overall,pff:pff_position,scouting:team_scouting"
    assert scalar(settings, "SELECT count(*) FROM prospect_core WHERE full_name = 'Walt Baxter'") == 1
    assert (
        scalar(
            settings,
            "SELECT grade_normalized FROM prospect_grades WHERE grade_type = 'team_scouting' "
            "AND prospect_id = (SELECT prospect_id FROM prospect_core WHERE full_name = 'Walt Baxter')",
        )
        == 43.75
    )
    verdict = scalar(
        settings,
        "SELECT status FROM quality_metrics WHERE execution_id = :e AND rule = 'scouting_grade_scale'",
        e=execution.execution_id,
    )
    assert verdict == "pass"


def test_the_example_plugin_rule_fails_a_run_whose_grades_are_off_its_scale(settings, stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    wrong = tmp_path / "scouting_0_100.csv"
    wrong.write_text(
        "player,position,school,class,grade,scout\n"
        "Jameis Winston,QB,Florida State,2015,85,R. Lee\n"
        "Marcus Mariota,QB,Oregon,2015,80,R. Lee\n"
        "Amari Cooper,WR,Alabama,2015,8.7,J. Ortiz\n"
    )
    before = canonical_snapshot(settings.database_url)
    staged = ingest_file(settings, "scouting", wrong)
    execution = ETLOrchestrator(settings=settings).execute_extraction_sync(staged.extraction_id)

    assert execution.overall_status == "failed"
    assert execution.error_summary == "data quality FAIL: scouting_grade_scale[scouting]"
    assert [p.status for p in execution.phases][2:] == ["failed", "skipped", "skipped", "skipped"]
    assert canonical_snapshot(settings.database_url) == before
