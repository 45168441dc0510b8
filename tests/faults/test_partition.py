"""A worker on its own test host (a network namespace) cut off mid-task, then healed."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from etl_worker.supervisor import ProcessGroup
from tests.faults import testhost
from tests.faults.conftest import FAULTY, ROOT, Scenario, _drop, _fresh_database
from tests.faults.test_worker_faults import assert_invariants, orchestrator
from tests.helpers import canonical_snapshot, stage_fixtures, wait_for


@pytest.fixture
def host() -> Iterator[testhost.TestHost]:
    why = testhost.available()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    made = testhost.TestHost()
    try:
        yield made
    finally:
        made.remove()


def test_a_partitioned_worker_loses_its_batch_and_its_late_result_changes_nothing(  # type: ignore[no-untyped-def]
    template_db, redis_url, tmp_path, host, baseline, capsys
):
    from etl_worker.settings import Settings

    url = _fresh_database(template_db)
    settings = Settings.from_env().with_overrides(database_url=url, broker_url=redis_url, result_backend=redis_url)
    faults = tmp_path / "faults"
    faults.mkdir()
    env = {
        **os.environ,
        "ETL_DATABASE_URL": url,
        "ETL_BROKER_URL": redis_url,
        "ETL_RESULT_BACKEND": redis_url,
        "ETL_TEST_FAULTS": str(faults),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    redis_inside = host.reach(redis_url)
    inside = {
        **env,
        "ETL_DATABASE_URL": host.reach(url),
        "ETL_BROKER_URL": redis_inside,
        "ETL_RESULT_BACKEND": redis_inside,
    }
    remote = ProcessGroup(inside, tmp_path, host.command(*FAULTY))
    local = ProcessGroup(env, tmp_path, FAULTY)
    try:
        remote.start_worker("p1")  # alone at first, so that it takes the batch that hangs
        local.start("listener", "listener")
        wait_for(lambda: " ready." in remote.log("p1"), 60, "the worker on the test host")
        wait_for(lambda: "listener ready" in local.log("listener"), 30, "the listener")
        (faults / "transform_hang").write_text("10")  # done while cut off: it reports after the heal
        scenario = Scenario(settings, local, faults)
        runner = orchestrator(scenario)
        execution_id = runner.start_extraction(stage_fixtures(settings))
        wait_for(lambda: (faults / "victim.pid").exists(), 60, "a batch to hang on the test host")
        host.cut()
        cut = time.monotonic()
        local.start_worker("w1")
        execution = runner.wait(execution_id)
        recovery = time.monotonic() - cut
        host.heal()
        hung = scenario.scalar(
            "SELECT task_id FROM task_deliveries WHERE execution_id = :e AND lost_worker LIKE 'p1@%'", e=execution_id
        )
        # The partitioned worker finishes its copy after the link is back: it must change nothing.
        wait_for(lambda: f"etl.transform[{hung}] succeeded" in remote.log("p1"), 120, "the late copy to finish")
        with capsys.disabled():
            print(
                f"\n[partition] worker p1 cut off mid-transform: {execution.overall_status} {recovery:.1f} s after "
                "the cut; its late copy finished after the heal and changed nothing"
            )
        assert execution.overall_status == "success"
        assert recovery < 60
        assert scenario.scalar("SELECT deliveries FROM task_deliveries WHERE task_id = :t", t=hung) == 2
        assert_invariants(scenario, execution, baseline)
        assert canonical_snapshot(url) == baseline
    finally:
        remote.stop_all()
        local.stop_all()
        _drop(url)
