"""What a producer passes as the extraction id: a ``uuid.UUID`` (as the seed's ``uuid4()`` invites), a
string with or without dashes, in any case, through every door (``delay``, ``apply_async``, ``send_task``
by name, the orchestrator, the CLI); an id that is none of these is refused in one line before anything is
enqueued. Real workers and a real listener, which must live through all of it."""

from __future__ import annotations

import uuid

import pytest

from etl_worker.celery_app import app
from etl_worker.errors import ConfigurationError
from etl_worker.orchestrator import ETLOrchestrator
from etl_worker.tasks import run_extraction
from tests.helpers import etl, scalar, stage_fixtures


@pytest.fixture(scope="module")
def orchestrator(settings, stack):  # type: ignore[no-untyped-def]
    return ETLOrchestrator(settings=settings)


def _ran(orchestrator: ETLOrchestrator, result) -> str:  # type: ignore[no-untyped-def]
    """The execution a run_extraction result names, once it has ended successfully."""
    started = result.get(timeout=60)
    assert "error" not in started, started
    execution = orchestrator.wait(started["execution_id"])
    assert execution.overall_status == "success", execution
    return started["execution_id"]


def test_every_spelling_of_the_id_at_every_producer_door_runs_the_extraction(settings, stack, orchestrator):  # type: ignore[no-untyped-def]
    extraction = stage_fixtures(settings)
    as_uuid = uuid.UUID(extraction)
    doors = [
        lambda: run_extraction.delay(as_uuid),
        lambda: run_extraction.apply_async(args=[extraction.upper()]),
        lambda: run_extraction.apply_async(kwargs={"extraction_id": as_uuid}),
        lambda: app.send_task("etl.run_extraction", args=[as_uuid.hex]),
        lambda: app.send_task("etl.run_extraction", args=[as_uuid]),
    ]
    executions = [_ran(orchestrator, door()) for door in doors]
    executions.append(orchestrator.wait(orchestrator.start_extraction(as_uuid)).execution_id)
    assert len(set(executions)) == len(executions)
    assert scalar(settings, "SELECT count(*) FROM etl_executions WHERE extraction_id = :e", e=extraction) == len(
        executions
    )
    assert scalar(
        settings,
        "SELECT count(*) FROM etl_phase_runs p JOIN etl_executions e USING (execution_id) "
        "WHERE e.extraction_id = :e AND p.phase = 'load' AND p.status = 'success'",
        e=extraction,
    ) == len(executions)
    assert stack.procs["listener"].poll() is None, stack.log("listener")[-3000:]
    assert "Traceback" not in stack.log("listener")


@pytest.mark.parametrize("given", ["not-an-id", "1234", 42, {"id": "x"}, ["a"], "", None])
def test_an_id_that_is_no_uuid_is_refused_in_one_line_before_anything_is_enqueued(settings, stack, given):  # type: ignore[no-untyped-def]
    before = scalar(settings, "SELECT count(*) FROM etl_executions")
    with pytest.raises(ConfigurationError, match=r"extraction id .* is not a UUID"):
        run_extraction.delay(given)
    with pytest.raises(ConfigurationError, match=r"extraction id .* is not a UUID"):
        run_extraction.apply_async(kwargs={"extraction_id": given})
    assert scalar(settings, "SELECT count(*) FROM etl_executions") == before


def test_an_id_that_is_no_uuid_sent_by_name_fails_in_one_line_and_the_listener_lives(settings, stack):  # type: ignore[no-untyped-def]
    started = app.send_task("etl.run_extraction", args=["no-such-id"]).get(timeout=60)
    assert "is not a UUID" in started["error"], started
    assert stack.procs["listener"].poll() is None, stack.log("listener")[-3000:]


def test_the_cli_takes_the_id_in_any_case_and_without_dashes(settings, stack):  # type: ignore[no-untyped-def]
    extraction = stage_fixtures(settings)
    env = {"ETL_DATABASE_URL": settings.database_url}
    done = etl("run", uuid.UUID(extraction).hex.upper(), "--wait", env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "success" in done.stdout
