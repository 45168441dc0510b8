"""RabbitMQ as the broker (kombu's py-amqp transport, a quorum queue), Redis as the result backend.

The workers, the listener and the producer (the ``run`` command) are real processes on this test run's
own RabbitMQ virtual host. A whole worker lost: RabbitMQ requeues the messages it held as its
connection closes, so the run goes on at once, without waiting for any timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.faults.conftest import HOST, Scenario, _drop, _fresh_database, _start
from tests.faults.test_worker_faults import _kill_a_worker_in, assert_invariants, soak
from tests.helpers import stage_fixtures


class RabbitScenario(Scenario):
    """A scenario whose runs are started by a producer of its own on RabbitMQ (this process's Celery
    app speaks to the test run's Redis)."""

    def __init__(self, settings, procs, faults) -> None:  # type: ignore[no-untyped-def]
        from celery import Celery

        from celeryconfig import celery_config

        super().__init__(settings, procs, faults)
        self.producer = Celery("etl_worker_test_producer")
        self.producer.conf.update(celery_config(settings))

    def start(self, extraction_id: str) -> str:
        result = self.producer.send_task(
            "etl.run_extraction", args=[extraction_id], kwargs={"max_records_per_batch": 10, "timeout_seconds": 120}
        )
        try:
            return str(result.get(timeout=60)["execution_id"])
        finally:
            result.forget()


@pytest.fixture
def rabbit(template_db, redis_url, rabbitmq_url, tmp_path) -> Iterator[RabbitScenario]:  # type: ignore[no-untyped-def]
    from etl_worker.settings import Settings

    url = _fresh_database(template_db)
    settings = Settings.from_env().with_overrides(database_url=url, broker_url=rabbitmq_url, result_backend=redis_url)
    procs, faults = _start(settings, tmp_path, probe_app=False)
    scenario = RabbitScenario(settings, procs, faults)
    try:
        yield scenario
    finally:
        procs.stop_all()
        scenario.producer.close()
        _purge(rabbitmq_url)
        _drop(url)


def _purge(url: str) -> None:
    from kombu import Connection

    with Connection(url) as conn:
        try:
            conn.default_channel.queue_purge("celery")
        except conn.channel_errors:  # no queue: nothing to purge
            pass


def start_run(scenario: Scenario, extraction_id: str) -> str:
    """Start a run the way a user does, with the ``run`` command, on the scenario's broker."""
    env = {
        **os.environ,
        "ETL_DATABASE_URL": scenario.settings.database_url,
        "ETL_BROKER_URL": scenario.settings.broker_url,
        "ETL_RESULT_BACKEND": scenario.settings.result_backend,
    }
    done = subprocess.run(
        [sys.executable, "-m", "etl_worker.cli", "run", extraction_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _orchestrator(scenario: Scenario):  # type: ignore[no-untyped-def]
    from etl_worker.orchestrator import ETLOrchestrator

    return ETLOrchestrator(max_records_per_batch=10, timeout_seconds=120, settings=scenario.settings)


def test_a_run_on_rabbitmq_lands_the_same_rows(rabbit, baseline, capsys):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    execution = _orchestrator(rabbit).wait(start_run(rabbit, stage_fixtures(rabbit.settings)))
    with capsys.disabled():
        print(f"\n[rabbitmq] a run: {execution.overall_status} in {time.monotonic() - started:.1f} s")
    assert execution.overall_status == "success", execution.error_summary
    assert {t.hostname for t in execution.transformers} <= {f"w1@{HOST}", f"w2@{HOST}"}
    assert_invariants(rabbit, execution, baseline)


@pytest.mark.parametrize("phase", ["transform", "merge", "load"])
def test_a_whole_worker_killed_on_rabbitmq_is_replaced_at_once(rabbit, baseline, capsys, phase):  # type: ignore[no-untyped-def]
    execution_id, dead, killed = _kill_a_worker_in(rabbit, rabbit.start, phase)
    execution = _orchestrator(rabbit).wait(execution_id)
    recovery = time.monotonic() - killed
    with capsys.disabled():
        print(
            f"\n[rabbitmq worker lost] {dead} SIGKILLed mid-{phase}: {execution.overall_status} {recovery:.1f} s later"
        )
    assert execution.overall_status == "success", execution.error_summary
    assert recovery < 30
    assert_invariants(rabbit, execution, baseline)


def test_soak_twenty_extractions_on_rabbitmq_under_random_faults_lose_and_double_nothing(rabbit, capsys):  # type: ignore[no-untyped-def]
    """Default settings: a pool child killed, the whole worker killed, a database backend terminated."""
    soak(
        rabbit,
        lambda extraction_id: start_run(rabbit, extraction_id),
        ["child", "worker", "backend"],
        "rabbitmq",
        capsys,
    )
