"""The whole canvas on real workers, real Redis and real PostgreSQL: what lands in the tables."""

from __future__ import annotations

import signal
import socket

import pytest
import sqlalchemy as sa

from tests.helpers import FIXTURES, canonical_snapshot, scalar, stage_fixtures, wait_for

HOST = socket.gethostname()


@pytest.fixture(scope="module")
def orchestrator(settings, stack):  # type: ignore[no-untyped-def]
    from etl_worker.orchestrator import ETLOrchestrator

    return ETLOrchestrator(max_records_per_batch=10, timeout_seconds=120, settings=settings)


def test_clean_run_is_success_with_rows_in_every_canonical_table(settings, orchestrator):  # type: ignore[no-untyped-def]
    extraction_id = stage_fixtures(settings)
    execution = orchestrator.execute_extraction_sync(extraction_id)

    assert execution.overall_status == "success", execution.error_summary
    assert [p.phase for p in execution.phases] == ["extract", "transform", "validate", "merge", "load", "publish"]
    assert all(p.status == "success" for p in execution.phases)
    # 10 pff + 24 cfr + 31 nfl + 12 yahoo rows in batches of 10.
    assert len(execution.transformers) == 1 + 3 + 4 + 2
    assert sum(t.records_processed for t in execution.transformers) == 77
    snapshot = canonical_snapshot(settings.database_url)
    assert snapshot["prospect_measurements"][0] == 31  # one per NFL combine row
    assert snapshot["prospect_college_stats"][0] == 24
    assert snapshot["prospect_core"][0] == execution.total_prospects_loaded > 0
    assert snapshot["prospect_grades"][0] == execution.total_grades_loaded > 0
    # Kevin White the CB (TCU) and the WR (West Virginia) stay two people.
    whites = "SELECT position_group, college FROM prospect_core WHERE name_key = 'kevin white' AND draft_year = 2015"
    engine = sa.create_engine(settings.database_url)
    with engine.connect() as conn:
        found = sorted(tuple(r) for r in conn.execute(sa.text(whites)))
    engine.dispose()
    assert [group for group, _ in found] == ["DB", "WR"], found
    assert scalar(settings, "SELECT count(*) FROM data_lineage WHERE execution_id = :e", e=execution.execution_id) > 0
    assert scalar(settings, "SELECT count(*) FROM mv_position_benchmarks") > 0
    assert execution.quality_score is not None
    # The merge ran in four parts (77 rows, a part per two batches of 10), each resolving its own share
    # of the surname blocks.
    merge = next(p for p in execution.phases if p.phase == "merge")
    per_part = merge.details["records_linked_per_part"]
    assert len(per_part) == 4 and all(per_part) and sum(per_part) == merge.details["records_linked"]


def test_work_is_spread_over_both_workers(settings, stack):  # type: ignore[no-untyped-def]
    from etl_worker.orchestrator import ETLOrchestrator

    # Five PFF batches, read by an adapter whose first record on a worker waits until the other worker
    # reads PFF too: the run shows its batches shared whatever the machine's load, and a worker that never
    # takes a batch fails the run.
    adapter = "tests.e2e.seed_plugins:RendezvousPffSource"
    runner = ETLOrchestrator(max_records_per_batch=2, transformers={"pff": adapter}, settings=settings)
    execution = runner.execute_extraction_sync(stage_fixtures(settings))
    assert execution.overall_status == "success", execution.error_summary
    hosts = {t.hostname for t in execution.transformers if t.transformer_type == "pff"}
    assert hosts == {f"w1@{HOST}", f"w2@{HOST}"}, hosts


def test_one_failing_transformer_gives_partial_success_and_loads_the_others(settings, orchestrator):  # type: ignore[no-untyped-def]
    extraction_id = stage_fixtures(settings, ("pff", "yahoo"))
    # A record that is not an object at all: the pff transformer crashes on it (not a quarantinable row).
    engine = sa.create_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE pff_staging SET record = '\"garbage\"'::jsonb WHERE extraction_id = :x AND row_number = 3"),
            {"x": extraction_id},
        )
    engine.dispose()
    execution = orchestrator.execute_extraction_sync(extraction_id)

    assert execution.overall_status == "partial_success"
    assert "pff" in (execution.error_summary or "")
    failed = [t for t in execution.transformers if t.status == "failed"]
    assert [t.transformer_type for t in failed] == ["pff"]
    assert failed[0].error_message
    lineage_sources = scalar(
        settings,
        "SELECT string_agg(DISTINCT source, ',') FROM data_lineage WHERE extraction_id = :x",
        x=extraction_id,
    )
    assert lineage_sources == "yahoo"
    assert execution.total_grades_loaded == 12


def test_validation_fail_leaves_canonical_tables_untouched(settings, orchestrator, tmp_path):  # type: ignore[no-untyped-def]
    from etl_worker.ingest import ingest_file

    before = canonical_snapshot(settings.database_url)
    bad = tmp_path / "nfl_bad.csv"
    lines = (FIXTURES / "nfl.csv").read_text().splitlines()
    bad.write_text("\n".join([lines[0], *("not-a-year" + line[4:] for line in lines[1:])]) + "\n")
    extraction_id = ingest_file(settings, "nfl", bad).extraction_id
    execution = orchestrator.execute_extraction_sync(extraction_id)

    assert execution.overall_status == "failed"
    assert "data quality FAIL" in (execution.error_summary or "")
    statuses = {p.phase: p.status for p in execution.phases}
    assert statuses == {
        "extract": "success",
        "transform": "success",
        "validate": "failed",
        "merge": "skipped",
        "load": "skipped",
        "publish": "skipped",
    }
    assert canonical_snapshot(settings.database_url) == before
    quarantined = scalar(settings, "SELECT count(*) FROM quarantined_records WHERE extraction_id = :x", x=extraction_id)
    assert quarantined == 31


def test_running_the_same_extraction_twice_leaves_canonical_tables_identical(settings, orchestrator):  # type: ignore[no-untyped-def]
    extraction_id = stage_fixtures(settings)
    first = orchestrator.execute_extraction_sync(extraction_id)
    after_first = canonical_snapshot(settings.database_url)
    second = orchestrator.execute_extraction_sync(extraction_id)

    assert first.overall_status == second.overall_status == "success"
    assert canonical_snapshot(settings.database_url) == after_first
    load = next(p for p in second.phases if p.phase == "load")
    assert "already loaded" in load.details["note"]
    assert scalar(settings, "SELECT count(*) FROM extraction_loads WHERE extraction_id = :x", x=extraction_id) == 1


def test_history_and_summary_match_what_ran(settings, orchestrator):  # type: ignore[no-untyped-def]
    before = orchestrator.get_execution_summary()["executions_by_status"]
    clean = orchestrator.execute_extraction_sync(stage_fixtures(settings, ("yahoo",)))
    cancelled = orchestrator.start_extraction(stage_fixtures(settings, ("pff",)))
    orchestrator.cancel(cancelled)
    history = orchestrator.get_execution_history(limit=2)
    summary = orchestrator.get_execution_summary()
    by_status = summary["executions_by_status"]

    assert [e.execution_id for e in history] == [cancelled, clean.execution_id]
    assert [e.overall_status for e in history] == ["failed", "success"]
    assert (by_status["success"] - before["success"], by_status["failed"] - before["failed"]) == (1, 1)
    finished = sum(by_status[s] for s in ("success", "partial_success", "failed"))
    assert summary["total_executions"] == finished + by_status["running"]
    assert summary["success_rate"] == round(100.0 * by_status["success"] / finished, 2)
    for execution in history:  # a cancelled run records every phase too: done, failed or skipped
        assert [p.phase for p in execution.phases] == ["extract", "transform", "validate", "merge", "load", "publish"]
    assert all(p.hostname for p in clean.phases if p.phase != "transform")


def restart_listener(stack) -> None:  # type: ignore[no-untyped-def]
    """Start the listener (stopping it first if it runs) and wait until it follows the backend."""
    stack.stop("listener")
    ready = stack.log("listener").count("listener ready")
    stack.start("listener", "listener")
    wait_for(lambda: stack.log("listener").count("listener ready") > ready, 30, "the listener to be ready")


def test_listener_restarted_mid_run_still_ends_with_complete_records(settings, stack):  # type: ignore[no-untyped-def]
    from etl_worker.db import tracking
    from etl_worker.db.engine import transaction
    from etl_worker.models import ACTIVE_STATUSES, TERMINAL_STATUSES
    from etl_worker.orchestrator import ETLOrchestrator

    restart_listener(stack)  # up and following before the run starts
    # Batches of one row: 77 transform tasks, a run long enough to lose its listener in the middle.
    execution_id = ETLOrchestrator(max_records_per_batch=1, settings=settings).start_extraction(
        stage_fixtures(settings)
    )

    def recorded() -> tuple[str | None, int, int]:
        with transaction(settings.database_url) as conn:
            found = tracking.get_execution(conn, execution_id)
        assert found is not None
        row, phases, transformers = found
        return row["status"], len(phases), len([t for t in transformers if t["hostname"]])

    wait_for(lambda: recorded()[2] > 0, 60, "the listener to record a first transform batch")
    stack.stop("listener", signal.SIGKILL)
    status, _, batches = recorded()
    assert status in ACTIVE_STATUSES and batches < 77, "the run ended before its listener was stopped"
    wait_for(lambda: recorded()[0] in TERMINAL_STATUSES, 60, "the run to finish")
    assert recorded()[2] < 77  # the batches that ended meanwhile were not recorded by anyone yet
    restart_listener(stack)
    wait_for(lambda: recorded()[1:] == (6, 77), 30, "the restarted listener to record every phase and batch")


def test_execute_extraction_returns_complete_records_without_a_listener(settings, orchestrator, stack):  # type: ignore[no-untyped-def]
    stack.stop("listener")
    try:
        execution = orchestrator.execute_extraction_sync(stage_fixtures(settings))
    finally:
        restart_listener(stack)
    assert execution.overall_status == "success"
    assert [p.status for p in execution.phases] == ["success"] * 6
    assert len(execution.transformers) == 10
    assert all(t.hostname and t.status == "success" for t in execution.transformers)
