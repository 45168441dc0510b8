"""Operating the system on real workers: alerts to a real HTTP receiver, replay, retention, schedules."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.faults.conftest import Receiver, Scenario
from tests.helpers import FIXTURES, etl, stage_fixtures, wait_for

RECEIVER = Receiver(fail_first=1)


def orchestrator(scenario: Scenario):  # type: ignore[no-untyped-def]
    from etl_worker.orchestrator import ETLOrchestrator

    return ETLOrchestrator(max_records_per_batch=10, timeout_seconds=120, settings=scenario.settings)


def _cli(scenario: Scenario, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "ETL_DATABASE_URL": scenario.settings.database_url,
        "ETL_BROKER_URL": scenario.settings.broker_url,
        "ETL_RESULT_BACKEND": scenario.settings.result_backend,
    }
    return etl(*args, env=env, timeout=120)


def _short_pff(tmp_path: Path, rows: int) -> Path:
    lines = (FIXTURES / "pff.csv").read_text().splitlines(keepends=True)
    path = tmp_path / "pff_short.csv"
    path.write_text("".join(lines[: rows + 1]))
    return path


@pytest.mark.worker_env(
    {
        "ETL_ALERT_WEBHOOK_URL": RECEIVER.url,
        "ETL_ALERT_MIN_QUALITY": "99.9",
        "ETL_ALERT_SLOW_MIN_RUNS": "3",
        "ETL_MAX_RETRIES": "1",
    }
)
def test_alerts_reach_a_real_webhook_once_per_rule_and_the_log(scenario, tmp_path, capsys):  # type: ignore[no-untyped-def]
    from etl_worker.ingest import ingest_file

    runner = orchestrator(scenario)
    quick = [runner.execute_extraction_sync(stage_fixtures(scenario.settings, ("pff",))) for _ in range(3)]
    assert all(e.overall_status == "success" for e in quick)

    scenario.arm("transform_hang", "3")  # one batch sleeps 3 s: far slower than the runs before it
    slow = runner.execute_extraction_sync(stage_fixtures(scenario.settings, ("pff",)))
    assert slow.overall_status == "success"

    extraction = ingest_file(scenario.settings, "pff", _short_pff(tmp_path, 3)).extraction_id  # 10 rows -> 3
    shrunk = runner.execute_extraction_sync(extraction)

    scenario.arm("transform_retriable_error", "nfl")
    partial = runner.execute_extraction_sync(stage_fixtures(scenario.settings, ("pff", "nfl")))
    assert partial.overall_status == "partial_success"

    (scenario.faults / "victim.pid").unlink()
    scenario.arm("transform_hang", "60")
    cancelled = runner.start_extraction(stage_fixtures(scenario.settings, ("pff",)))
    wait_for(lambda: (scenario.faults / "victim.pid").exists(), 30, "a batch to hang")
    assert runner.cancel(cancelled)

    expected = {
        slow.execution_id: {"slow_run"},
        shrunk.execution_id: {"volume_drop"},
        partial.execution_id: {"partial_success", "low_quality"},
        cancelled: {"run_failed"},
    }

    def arrived() -> bool:
        return all(rules <= RECEIVER.rules(execution_id) for execution_id, rules in expected.items())

    wait_for(arrived, 60, f"the alerts {expected} at the webhook")
    assert RECEIVER.refused == 1  # the first POST got a 500; the alert came again and got through

    drop = next(p for p in RECEIVER.payloads if p["rule"] == "volume_drop")
    assert drop["scope"] == "pff" and drop["details"]["drop"] == 0.7 and drop["severity"] == "warning"
    failed = next(p for p in RECEIVER.payloads if p["rule"] == "run_failed")
    assert failed["severity"] == "critical" and "cancelled by operator" in failed["message"]
    for e in quick:
        assert not RECEIVER.rules(e.execution_id) - {"low_quality"}

    # Evaluating a run again raises nothing new: one payload per (execution, rule, scope).
    before = len(RECEIVER.payloads)
    from etl_worker.pipeline import alert_signature

    alert_signature(partial.execution_id, "again").apply_async().get(timeout=30)
    assert len(RECEIVER.payloads) == before
    keys = [(p["execution_id"], p["rule"], p["scope"]) for p in RECEIVER.payloads]
    assert len(keys) == len(set(keys))

    listed = json.loads(_cli(scenario, "alerts", "--limit", "100", "--json").stdout)
    assert {(a["execution_id"], a["rule"]) for a in listed} >= {(k, r) for k, rs in expected.items() for r in rs}
    assert all(a["deliveries"] == {"log": "delivered", "webhook": "delivered"} for a in listed)
    logs = scenario.procs.log("w1") + scenario.procs.log("w2")
    assert f"ALERT run_failed [all] run failed: cancelled by operator (execution {cancelled})" in logs
    with capsys.disabled():
        print(f"\n[alerts] {len(RECEIVER.payloads)} payloads: {sorted({p['rule'] for p in RECEIVER.payloads})}")


def _ledger(scenario: Scenario) -> str:
    return scenario.scalar(
        "SELECT string_agg(concat_ws(':', source, batch_no, status, task_id, updated_at), ',' "
        "ORDER BY source, batch_no) FROM transform_batches"
    )


def test_replay_from_validate_reuses_the_transform_work_and_ends_like_a_clean_run(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    from tests.helpers import canonical_snapshot

    scenario.arm("validate_error", "injected: a broken rule")
    runner = orchestrator(scenario)
    failed = runner.execute_extraction_sync(stage_fixtures(scenario.settings))
    assert failed.overall_status == "failed" and "injected: a broken rule" in failed.error_summary
    assert scenario.scalar("SELECT count(*) FROM prospect_core") == 0
    transformed = _ledger(scenario)

    (scenario.faults / "validate_error").unlink()  # the cause is fixed
    result = _cli(scenario, "replay", failed.execution_id)
    assert result.returncode == 0, result.stderr
    replayed = runner.wait(result.stdout.strip())

    assert replayed.overall_status == "success", replayed.error_summary
    assert (replayed.replay_of, replayed.replay_from) == (failed.execution_id, "validate")
    assert [p.phase for p in replayed.phases] == ["extract", "transform", "validate", "merge", "load", "publish"]
    reused = {p.phase: p.details.get("reused_from") for p in replayed.phases}
    assert reused == {
        **dict.fromkeys(("extract", "transform"), failed.execution_id),
        **dict.fromkeys(("validate", "merge", "load", "publish")),
    }
    assert replayed.transformers == []  # no batch ran again ...
    assert _ledger(scenario) == transformed  # ... and the ledger of the first run's batches is untouched
    ran = scenario.scalar("SELECT count(*) FROM task_deliveries WHERE execution_id = :e", e=replayed.execution_id)
    assert ran == 11  # validate, the 4 merge parts, merge, load, the 3 view refreshes, publish
    assert canonical_snapshot(scenario.settings.database_url) == baseline

    history = _cli(scenario, "history", "--json")
    linked = {e["execution_id"]: e["replay_of"] for e in json.loads(history.stdout)}
    assert linked == {failed.execution_id: None, replayed.execution_id: failed.execution_id}
    refused = _cli(scenario, "replay", replayed.execution_id)
    assert refused.returncode == 1 and "succeeded in every phase" in refused.stderr
    assert "Traceback" not in refused.stderr
    with capsys.disabled():
        print(f"\n[replay] validate failed, replayed from validate in {replayed.duration_seconds:.2f} s: success")


@pytest.mark.worker_env({"ETL_MAX_RETRIES": "1"})
def test_replay_after_a_partial_success_reruns_only_the_failed_source(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    from tests.helpers import canonical_snapshot

    scenario.arm("transform_retriable_error", "nfl")
    runner = orchestrator(scenario)
    partial = runner.execute_extraction_sync(stage_fixtures(scenario.settings))
    assert partial.overall_status == "partial_success"
    assert canonical_snapshot(scenario.settings.database_url) != baseline  # no NFL combine rows yet

    (scenario.faults / "transform_retriable_error").unlink()
    replayed = runner.wait(runner.replay(partial.execution_id))

    assert replayed.overall_status == "success", replayed.error_summary
    assert replayed.replay_from == "transform"
    assert {(t.transformer_type, t.status) for t in replayed.transformers} == {("nfl", "success")}
    assert len(replayed.transformers) == 4  # the 31 NFL rows in batches of 10, nothing else
    assert canonical_snapshot(scenario.settings.database_url) == baseline
    holder = scenario.scalar("SELECT execution_id::text FROM extraction_loads")
    assert holder == replayed.execution_id
    with capsys.disabled():
        print(f"\n[replay] partial success, replayed the nfl batches only: {replayed.overall_status}")


def test_replay_with_wait_of_a_run_cancelled_mid_transform_ends_cleanly(scenario, baseline):  # type: ignore[no-untyped-def]
    # Issue 24, item 5: this path ended with "Exception ignored in: AsyncResult.__del__" and a traceback.
    from tests.helpers import canonical_snapshot

    runner = orchestrator(scenario)
    (scenario.faults / "victim.pid").unlink(missing_ok=True)
    scenario.arm("transform_hang", "60")
    cancelled = runner.start_extraction(stage_fixtures(scenario.settings))
    wait_for(lambda: (scenario.faults / "victim.pid").exists(), 30, "a batch to hang")
    assert runner.cancel(cancelled)
    (scenario.faults / "transform_hang").unlink(missing_ok=True)  # claimed by the hanging batch
    result = _cli(scenario, "replay", cancelled[:8], "--wait")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert f"replay of execution {cancelled[:8]}" in result.stdout and ": success" in result.stdout
    assert canonical_snapshot(scenario.settings.database_url) == baseline


@pytest.mark.worker_env(
    {"ETL_SCHEDULE_STAGED_SECONDS": "1", "ETL_SCHEDULE_SETTLE_SECONDS": "1", "ETL_SCHEDULE_PRUNE_SECONDS": "1"}
)
def test_beat_runs_a_staged_extraction_once_and_prunes_old_history_into_rollups(scenario, tmp_path, capsys):  # type: ignore[no-untyped-def]
    from etl_worker.taskids import task_id
    from etl_worker.tracking.history import get_execution, get_summary

    runner = orchestrator(scenario)
    done = [runner.execute_extraction_sync(stage_fixtures(scenario.settings, ("pff",))) for _ in range(3)]
    old = [e.execution_id for e in done[:2]]
    moved = scenario.scalar(
        "WITH m AS (UPDATE etl_executions SET started_at = started_at - interval '100 days', "
        "completed_at = completed_at - interval '100 days' WHERE execution_id = ANY(CAST(:ids AS uuid[])) "
        "RETURNING 1) SELECT count(*) FROM m",
        ids=old,
    )
    assert moved == 2
    staged = stage_fixtures(scenario.settings, ("pff", "yahoo"))  # staged, and nobody runs it

    scenario.procs.start("beat", "beat", "--schedule-file", str(tmp_path / "beat-schedule"))
    scheduled = task_id(staged, "scheduled")

    def outcome() -> str | None:
        execution = get_execution(scenario.settings, scheduled)
        return execution.overall_status if execution and execution.completed_at else None

    assert wait_for(outcome, 60, "the beat to run the staged extraction") == "success"
    pruned = "SELECT count(*) FROM etl_executions WHERE execution_id = ANY(CAST(:ids AS uuid[]))"
    wait_for(lambda: scenario.scalar(pruned, ids=old) == 0, 60, "the beat to prune the old executions")
    ticks = scenario.procs.log("beat").count("run-staged-extractions")
    wait_for(lambda: scenario.procs.log("beat").count("run-staged-extractions") >= ticks + 3, 30, "three more ticks")
    assert scenario.scalar("SELECT count(*) FROM etl_executions WHERE extraction_id = :x", x=staged) == 1

    for table in ("etl_phase_runs", "etl_transformer_runs", "task_deliveries", "quality_metrics"):
        assert (
            scenario.scalar(f"SELECT count(*) FROM {table} WHERE execution_id = ANY(CAST(:ids AS uuid[]))", ids=old)
            == 0
        )
    rolled = scenario.scalar("SELECT sum(runs) FROM etl_daily_rollups WHERE kind = 'execution'")
    assert rolled == 2
    assert scenario.scalar("SELECT sum(runs) FROM etl_daily_rollups WHERE kind = 'source' AND name = 'pff'") == 2

    # The summary still counts every run, pruned or not.
    summary = get_summary(scenario.settings)
    durations = [e.duration_seconds for e in done] + [get_execution(scenario.settings, scheduled).duration_seconds]
    assert summary["total_executions"] == 4 and summary["executions_by_status"]["success"] == 4
    assert summary["success_rate"] == 100.0
    assert summary["average_duration_seconds"] == pytest.approx(sum(durations) / 4)
    daily = json.loads(_cli(scenario, "summary", "--daily", "400", "--json").stdout)["daily"]
    today = scenario.scalar("SELECT (now() AT TIME ZONE 'UTC')::date::text")
    old_day = [d for d in daily if d["kind"] == "execution" and d["day"] != today]
    assert [d["runs"] for d in old_day] == [2] and old_day[0]["duration_p95"] >= old_day[0]["duration_p50"] > 0
    phases = {d["name"] for d in daily if d["day"] == old_day[0]["day"] and d["kind"] == "phase"}
    assert phases == {"extract", "transform", "validate", "merge", "load", "publish"}
    with capsys.disabled():
        print(f"\n[beat] scheduled run {outcome()}; pruned 2 executions into {old_day[0]['day']}'s rollup")


def test_watch_stages_and_runs_each_dropped_export_once_by_checksum(scenario, tmp_path):  # type: ignore[no-untyped-def]
    import re
    import shutil

    drop = tmp_path / "drop"
    drop.mkdir()
    scenario.procs.start("watch", "watch", str(drop), "--interval", "0.2")
    scenario.procs.wait_for_log("watch", "watching", 30)

    shutil.copy(FIXTURES / "pff.csv", drop / "pff_2021.csv")
    scenario.procs.wait_for_log("watch", "taken pff_2021.csv: 10 pff rows", 30)
    match = re.search(r"taken pff_2021\.csv.*execution ([0-9a-f-]{36})", scenario.procs.log("watch"), re.S)
    assert match is not None
    started = "SELECT count(*) FROM etl_executions WHERE execution_id = :e"  # enqueued is not yet started
    wait_for(lambda: scenario.scalar(started, e=match.group(1)), 60, "a worker to start the dropped file's run")
    execution = orchestrator(scenario).wait(match.group(1))
    assert execution.overall_status == "success" and execution.total_grades_loaded > 0

    shutil.copy(FIXTURES / "pff.csv", drop / "pff_again.csv")  # the same export under another name
    scenario.procs.wait_for_log("watch", "skipped pff_again.csv: same content as pff_2021.csv", 30)
    (drop / "scouting_notes.csv").write_text("player,note\nA. Player,fast\n")
    scenario.procs.wait_for_log("watch", "rejected scouting_notes.csv: no source in the file name", 30)
    (drop / "nfl_2021.csv").write_text("this is not,an nfl export\n1,2\n")
    scenario.procs.wait_for_log("watch", "rejected nfl_2021.csv:", 30)

    assert scenario.scalar("SELECT count(*) FROM extraction_files") == 1
    assert scenario.scalar("SELECT count(*) FROM etl_executions") == 1
    statuses = scenario.scalar("SELECT string_agg(filename || '=' || status, ',' ORDER BY filename) FROM dropped_files")
    assert statuses == "nfl_2021.csv=rejected,pff_2021.csv=enqueued"  # a name's rejection binds no content
