"""Every command that waits for the workers ends cleanly: its output, exit 0, and nothing on stderr."""

from __future__ import annotations

import json

from tests.helpers import etl, stage_fixtures


def _env(settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "ETL_DATABASE_URL": settings.database_url,
        "ETL_BROKER_URL": settings.broker_url,
        "ETL_RESULT_BACKEND": settings.result_backend,
    }


def test_run_and_replay_with_wait_succeed_and_print_nothing_on_stderr(settings, stack):  # type: ignore[no-untyped-def]
    extraction_id = stage_fixtures(settings, ("pff", "yahoo"))
    ran = etl("run", extraction_id, "--wait", "--json", env=_env(settings), timeout=120)
    assert ran.returncode == 0 and ran.stderr == "", ran.stderr
    execution = json.loads(ran.stdout)
    assert execution["overall_status"] == "success"

    replayed = etl(
        "replay", execution["execution_id"][:8], "--from-phase", "validate", "--wait", env=_env(settings), timeout=120
    )
    assert replayed.returncode == 0 and replayed.stderr == "", replayed.stderr
    # Without a terminal, one line per phase as it ends (the reused ones first), then the execution.
    lines = replayed.stdout.splitlines()
    ended = [line.split()[:2] for line in lines[:6]]
    assert ended == [[p, "success"] for p in ("extract", "transform", "validate", "merge", "load", "publish")]
    assert f"replay of execution {execution['execution_id'][:8]} from validate" in replayed.stdout

    waited = etl("run", stage_fixtures(settings, ("yahoo",))[:8], "--wait", env=_env(settings), timeout=120)
    assert waited.returncode == 0 and waited.stderr == "", waited.stderr
    phases = [line.split()[:2] for line in waited.stdout.splitlines()[:6]]
    assert phases == [[p, "success"] for p in ("extract", "transform", "validate", "merge", "load", "publish")]

    started = etl("run", stage_fixtures(settings, ("yahoo",))[:8], env=_env(settings), timeout=120)
    assert started.returncode == 0 and started.stderr == "", started.stderr
    shown = etl("status", started.stdout.strip()[:8], "--json", env=_env(settings), timeout=120)
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    assert json.loads(shown.stdout)["execution_id"] == started.stdout.strip()
    cancelled = etl("cancel", started.stdout.strip()[:8], env=_env(settings), timeout=120)
    assert cancelled.returncode == 0 and started.stdout.strip() in cancelled.stdout, cancelled.stderr
    # Replaying a finished run from its last phase (issue 24, item 5: a traceback from AsyncResult.__del__
    # at exit; the replay of a run cancelled mid-transform is in tests/faults).
    result = etl("replay", execution["execution_id"][:8], "--from-phase", "publish", "--wait", env=_env(settings))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "replay of execution" in result.stdout
