"""The command line says one clear line for a user mistake, never a traceback or a password."""

from __future__ import annotations

import subprocess

from tests.helpers import FIXTURES, etl, record_execution, stage_fixtures


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
    _one_line_error(etl("status", "not-an-id", env=env), "not an id or the start of one")


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


def test_the_commands_that_read_an_id_accept_a_unique_prefix(settings, tmp_path):
    from etl_worker.ingest import ingest_file

    env = {"ETL_DATABASE_URL": settings.database_url}
    extraction = ingest_file(settings, "yahoo", FIXTURES / "yahoo.csv").extraction_id
    done = record_execution(settings, extraction, status="success", execution_id="c0ffee00-1111-4111-8111-000000000001")
    x = extraction[:8]

    status = etl("status", done[:8].upper(), env=env)
    assert status.returncode == 0 and "execution c0ffee00 of extraction" in status.stdout, status.stderr
    report = etl("report", done[:6], "-o", str(tmp_path / "r.html"), env=env)
    assert report.returncode == 0 and (tmp_path / "r.html").exists(), report.stderr
    for args in (("quarantine", x), ("review", "--extraction-id", x)):
        assert etl(*args, env=env).returncode == 0, args
    ingested = etl("ingest", "pff", str(FIXTURES / "pff.csv"), "--extraction-id", x, env=env)
    assert ingested.stdout.strip() == extraction, ingested.stderr
    # run, replay and cancel, which need workers, take prefixes in tests/e2e/test_cli_waits.py.


def test_an_ambiguous_or_unknown_prefix_is_one_line(settings):
    env = {"ETL_DATABASE_URL": settings.database_url}
    ids = [f"abcdef{i:02d}-2222-4222-8222-000000000000" for i in range(7)]
    for execution_id in ids:
        record_execution(settings, "7d1f5e0c-0000-4000-8000-000000000001", execution_id=execution_id)
    _one_line_error(etl("status", "abcdef", env=env), "ambiguous", "abcdef06-2222", "abcdef02-2222", ", ...")
    assert etl("status", "abcdef03", env=env).returncode == 0
    _one_line_error(etl("status", "abcdef99", env=env), "no execution id starts with abcdef99")
    _one_line_error(etl("status", "abc", env=env), "not an id or the start of one")
    _one_line_error(etl("quarantine", "ffffffff", env=env), "no extraction id starts with ffffffff")


def test_history_and_status_fit_80_columns_and_show_everything_at_200(settings):
    extraction = "7d1f5e0c-0000-4000-8000-000000000002"
    error = "transformer(s) failed: pff; a long reason that does not fit in a narrow terminal"
    shown = record_execution(settings, extraction, status="partial_success", error_summary=error)
    record_execution(settings, extraction, status="success", replay_of=shown, replay_from="validate")
    for columns in ("80", "200"):
        env = {"ETL_DATABASE_URL": settings.database_url, "COLUMNS": columns}
        history, status = etl("history", env=env), etl("status", shown[:8], env=env)
        assert history.returncode == status.returncode == 0, history.stderr + status.stderr
        lines = history.stdout.splitlines() + status.stdout.splitlines()
        assert max(map(len, lines)) <= int(columns)
        row = next(line for line in history.stdout.splitlines() if line.startswith(shown[:8]))
        assert "partial_success" in row.split()  # never cut
        assert ("replay of" in history.stdout) == (columns == "200")
        assert (error.strip() in history.stdout) == (columns == "200")


def test_shell_completion_comes_from_click():
    import shutil
    import sys
    from pathlib import Path

    script = shutil.which("etl-worker", path=str(Path(sys.executable).parent))
    assert script is not None
    result = subprocess.run(
        [script],
        env={"_ETL_WORKER_COMPLETE": "bash_source", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "_etl_worker_completion" in result.stdout and "complete " in result.stdout


def test_a_run_no_worker_starts_is_one_line_and_leaves_no_traceback_at_exit(settings):  # type: ignore[no-untyped-def]
    """With no worker to start a run, waiting for it gives up in one line; the result it waited for is let
    go then, not at interpreter exit, where Celery's backend can no longer unsubscribe and prints
    'Exception ignored in: AsyncResult.__del__' with a traceback."""
    import os
    import sys

    script = (
        "from etl_worker.celery_app import app\n"
        "from etl_worker.errors import FatalError\n"
        "from etl_worker.orchestrator import ETLOrchestrator\n"
        "ETLOrchestrator.START_TIMEOUT = 1\n"
        "try:\n"
        "    ETLOrchestrator().start_extraction('00000000-0000-0000-0000-0000000000aa')\n"
        "except FatalError as exc:\n"
        "    print(exc)\n"
        "app.control.purge()  # the queued run reaches no later test's workers\n"
    )
    env = {
        **os.environ,
        "ETL_DATABASE_URL": settings.database_url,
        "ETL_BROKER_URL": settings.broker_url,
        "ETL_RESULT_BACKEND": settings.result_backend,
    }
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert "no worker started run" in done.stdout and "within 1 s" in done.stdout, done.stdout
    assert "Traceback" not in done.stderr and "AsyncResult" not in done.stderr, done.stderr
    assert "no worker answers on" in done.stderr, done.stderr  # said once, through the log


def test_run_wait_with_no_worker_says_so_in_one_line_within_seconds(settings):  # type: ignore[no-untyped-def]
    """``run --wait`` with no worker consuming the queue says so within a few seconds (which broker,
    which queue, how to start one), keeps waiting as long as it was going to, then fails in one line."""
    import os
    import sys
    import time

    extraction_id = stage_fixtures(settings, ("yahoo",))
    script = (
        "import sys\n"
        "from etl_worker.celery_app import app\n"
        "from etl_worker.cli import main\n"
        "from etl_worker.orchestrator import ETLOrchestrator\n"
        "ETLOrchestrator.START_TIMEOUT = 8\n"
        "try:\n"
        f"    main(['run', '{extraction_id}', '--wait'])\n"
        "finally:\n"
        "    app.control.purge()  # the queued run reaches no later test's workers\n"
    )
    env = {
        **os.environ,
        "ETL_DATABASE_URL": settings.database_url,
        "ETL_BROKER_URL": settings.broker_url,
        "ETL_RESULT_BACKEND": settings.result_backend,
        "COLUMNS": "200",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    said = time.monotonic()
    rest = proc.communicate(timeout=60)[1]
    # Both clocks start at the enqueue: the notice (after 3 s and a 1 s ping) comes seconds before the
    # 8 s start timeout ends the command, however long the interpreter took to start.
    before_the_end = time.monotonic() - said
    assert first.startswith("warning: no worker answers on redis://") or first.startswith(
        "warning: no worker answers on amqp://"
    ), first
    assert "(queue celery)" in first and "etl-worker worker" in first, first
    assert before_the_end > 2, before_the_end  # before the start timeout, not at it
    assert proc.returncode == 1
    assert rest.splitlines() == [rest.splitlines()[0]] and "no worker started run" in rest, rest


def test_the_console_without_a_password_on_an_open_address_says_so_in_one_line(settings):  # type: ignore[no-untyped-def]
    import os
    import socket
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "ETL_UI_BASIC_AUTH"}
    ui = subprocess.Popen(
        [sys.executable, "-m", "etl_worker.cli", "ui", "--insecure", "--address", "0.0.0.0", "--port", str(port)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**env, "ETL_DATABASE_URL": settings.database_url, "COLUMNS": "200"},
    )
    try:
        assert ui.stderr is not None
        first = ui.stderr.readline()
    finally:
        ui.kill()
        ui.wait(10)
    assert first.strip() == (
        "warning: console on 0.0.0.0 without a password: anyone who can reach this host can use it"
    ), first


def test_a_worker_the_broker_refuses_exits_non_zero_so_a_supervisor_restarts_it(settings, rabbitmq_url):  # type: ignore[no-untyped-def]
    """RabbitMQ refusing the login is an unrecoverable error for Celery's worker, which then stopped with
    exit code 0 through ``etl-worker worker``."""
    wrong = rabbitmq_url.replace("guest:guest@", "guest:wrong@", 1)
    assert wrong != rabbitmq_url
    done = etl(
        "worker",
        "-c",
        "1",
        env={
            "ETL_DATABASE_URL": settings.database_url,
            "ETL_BROKER_URL": wrong,
            "ETL_RESULT_BACKEND": settings.result_backend,
        },
        timeout=120,
    )
    assert done.returncode == 1, (done.returncode, (done.stdout + done.stderr)[-2000:])
    assert "ACCESS_REFUSED" in done.stdout + done.stderr
