"""The command line says one clear line for a user mistake, never a traceback or a password."""

from __future__ import annotations

import subprocess

from tests.helpers import FIXTURES, etl


def _one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_unknown_source(settings):
    _one_line_error(
        etl("ingest", "espnn", str(FIXTURES / "nfl.csv"), env={"ETL_DATABASE_URL": settings.database_url}),
        "unknown source 'espnn'",
    )


def test_missing_file(settings):
    _one_line_error(
        etl("ingest", "nfl", "/nonexistent/x.csv", env={"ETL_DATABASE_URL": settings.database_url}), "no such file"
    )


def test_unreachable_database_shows_host_not_password():
    result = etl("history", env={"ETL_DATABASE_URL": "postgresql+psycopg2://scout:s3cret@127.0.0.1:1/nope"})
    _one_line_error(result, "127.0.0.1")
    assert "s3cret" not in result.stderr + result.stdout


def test_unreachable_broker_shows_host_not_password(settings):
    from etl_worker.ingest import ingest_file

    extraction_id = ingest_file(settings, "yahoo", FIXTURES / "yahoo.csv").extraction_id
    env = {"ETL_DATABASE_URL": settings.database_url, "ETL_BROKER_URL": "redis://ops:s3cret@127.0.0.1:1/0"}
    result = etl("run", extraction_id, env=env)
    _one_line_error(result, "cannot reach Redis at redis://ops:***@127.0.0.1:1/0")
    assert "s3cret" not in result.stderr + result.stdout


def test_unknown_extraction_and_execution(settings):
    env = {"ETL_DATABASE_URL": settings.database_url}
    _one_line_error(etl("run", "7d1f5e0c-0000-4000-8000-000000000000", env=env), "does not exist")
    _one_line_error(etl("status", "7d1f5e0c-0000-4000-8000-000000000000", env=env), "does not exist")
    _one_line_error(etl("status", "not-an-id", env=env), "not a valid id")


def test_ingest_prints_the_extraction_id(settings):
    result = etl("ingest", "yahoo", str(FIXTURES / "yahoo.csv"), env={"ETL_DATABASE_URL": settings.database_url})
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 36


def test_a_database_behind_this_version_gets_one_line_saying_upgrade(database_url):
    from alembic.script import ScriptDirectory

    from etl_worker.db.migrate import alembic_config, downgrade, upgrade

    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    downgrade(database_url, "0004")
    try:
        env = {"ETL_DATABASE_URL": database_url}
        _one_line_error(etl("summary", env=env), "lacks tables or columns", "etl-worker db upgrade")
        _one_line_error(etl("worker", env=env), "schema is at revision 0004", f"needs {head}", "etl-worker db upgrade")
    finally:
        upgrade(database_url)
