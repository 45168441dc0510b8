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
        "replay", execution["execution_id"], "--from-phase", "validate", "--wait", env=_env(settings), timeout=120
    )
    assert replayed.returncode == 0 and replayed.stderr == "", replayed.stderr
    assert "success" in replayed.stdout

    started = etl("run", stage_fixtures(settings, ("yahoo",)), env=_env(settings), timeout=120)
    assert started.returncode == 0 and started.stderr == "", started.stderr
    shown = etl("status", started.stdout.strip(), "--json", env=_env(settings), timeout=120)
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
