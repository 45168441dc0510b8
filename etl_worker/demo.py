"""``etl-worker demo``: the whole system on real sample data, from one command.

On the embedded default (or the configured servers) it migrates the schema, starts a listener and two
worker processes, stages the bundled sample exports, runs the pipeline with live progress and prints
a report. Whatever it started is stopped at the end, Ctrl-C included. With ``keep`` everything stays up
until Ctrl-C, and only then does it start the web console (its password made for the demo unless
ETL_UI_BASIC_AUTH is set) and print the ``export ETL_...`` lines that point another shell's
``etl-worker`` commands at the embedded servers.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shlex
import signal
import threading
from pathlib import Path

from rich.console import Console
from rich.table import Table

from etl_worker import embedded, terminal
from etl_worker.console.server import ConsoleServer
from etl_worker.db import canonical, quality
from etl_worker.db.engine import transaction
from etl_worker.display import cell
from etl_worker.errors import ConfigurationError
from etl_worker.report import render
from etl_worker.settings import Settings
from etl_worker.supervisor import ProcessGroup

DATA = Path(__file__).parent / "data"
SAMPLE = (
    ("nfl", "nfl_combine_2019_2020.csv"),
    ("pfr", "pfr_combine_2019_2020.csv"),
    ("espn", "espn_prospects_2019_2020.csv"),
    ("cfr", "cfr_seasons_2018_2019.csv"),
    ("pff", "pff_grades_2020.csv"),
    ("yahoo", "yahoo_board_2020.csv"),
)


def run_demo(console: Console, keep: bool = False) -> str:
    """Run the demo; returns the execution's overall status. ``keep``: leave everything up until Ctrl-C.

    A SIGTERM (a supervisor, ``kill``) stops it as Ctrl-C does: everything it started stops, the embedded
    PostgreSQL included (without this, Python would exit at once and leave that server running)."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    servers = embedded.EmbeddedServers() if embedded.wanted() else None
    reach: dict[str, str] = {}
    procs: ProcessGroup | None = None
    web: ConsoleServer | None = None
    umask = os.umask(0o077)  # logs, reports and what the workers write: private to this user
    try:
        if servers is not None:
            with console.status("starting the embedded PostgreSQL and Redis"):
                reach = servers.start()
                os.environ.update(reach)
            where = f"{servers.home}" + (
                f" (PostgreSQL's data in {servers.postgres_dir})" if servers.postgres_dir.parent != servers.home else ""
            )
            terminal.whole_line(console, f"embedded servers under {where}")
        settings = Settings.from_env()
        from etl_worker.db.migrate import upgrade

        upgrade(settings.database_url)
        log_dir = embedded.private_dir(settings.home / "logs")
        procs = ProcessGroup(dict(os.environ), log_dir)
        with console.status("starting the listener and two workers"):
            procs.start("listener", "listener")
            nodes = [procs.start_worker("w1"), procs.start_worker("w2")]
            procs.wait_for_workers(set(nodes))
            procs.wait_for_log("listener", "listener ready", 60)
        terminal.whole_line(console, f"workers {', '.join(nodes)} and the listener are up (logs in {log_dir})")
        extraction_id = _stage(settings, console)
        status = _run(settings, extraction_id, console)
        if keep:
            web = _web_console(settings, console)
            if reach:
                console.print("in another shell, these point etl-worker at the demo's servers:")
                for name, value in sorted(reach.items()):  # pasted into a shell
                    terminal.whole_line(console, f"export {name}={shlex.quote(value)}")
            console.print("the servers, workers and console stay up: Ctrl-C to stop them")
            try:
                threading.Event().wait()
            except KeyboardInterrupt:  # the way a kept demo ends: the run's status is still the answer
                console.print()
        else:
            console.print("everything the demo started stops now; `etl-worker demo --keep` keeps it up to explore")
        return status
    finally:
        if web is not None:
            web.stop()
        if procs is not None:
            with console.status("stopping workers and listener"):
                procs.stop_all()
        if servers is not None:
            servers.stop()
        os.umask(umask)


def _web_console(settings: Settings, console: Console) -> ConsoleServer:
    """The console on 127.0.0.1:8080 (any free port if that one is taken), its address printed."""
    made = settings.ui_basic_auth is None
    credentials = settings.ui_basic_auth or f"demo:{secrets.token_urlsafe(12)}"
    settings = dataclasses.replace(settings, ui_basic_auth=credentials)
    try:
        web = ConsoleServer(settings, "127.0.0.1", 8080)
    except ConfigurationError:
        web = ConsoleServer(settings, "127.0.0.1", 0)
    web.start()
    user, password = credentials.split(":", 1)
    login = f"user {user}, password {password} (made for this demo)" if made else "sign in with ETL_UI_BASIC_AUTH"
    terminal.whole_line(console, f"web console on {web.url} ({login})")
    return web


def _stage(settings: Settings, console: Console) -> str:
    from etl_worker.ingest import ingest_file

    extraction_id = None
    for source, name in SAMPLE:
        staged = ingest_file(settings, source, DATA / name, extraction_id)
        extraction_id = staged.extraction_id
        console.print(f"staged {staged.rows:>5,} {source:<5} rows from {name}")
    assert extraction_id is not None
    return extraction_id


def _run(settings: Settings, extraction_id: str, console: Console) -> str:
    from etl_worker.orchestrator import ETLOrchestrator

    # Batches of 200 rows, so the sample fans out over both workers as a large export would.
    orchestrator = ETLOrchestrator(
        max_records_per_batch=200, timeout_seconds=settings.timeout_seconds, settings=settings
    )
    execution_id = orchestrator.start_extraction(extraction_id)
    terminal.follow(settings, execution_id, lambda: orchestrator.ended(execution_id), Console(stderr=True))
    execution = orchestrator.wait(execution_id)
    terminal.render_execution(console, execution)
    with transaction(settings.database_url) as conn:
        flagged = quality.flagged_metrics(conn, execution_id)
        quarantined = quality.quarantine_summary(conn, extraction_id)
        benchmarks = canonical.view_rows(conn, "mv_position_benchmarks", 24)
        page = render(execution, quality.execution_metrics(conn, execution_id), quarantined)
    report_path = Settings.from_env().home / f"execution-{execution_id}.html"
    report_path.write_text(page, encoding="utf-8")
    _table(
        console,
        "quality rules that warned or failed",
        ["rule", "scope", "status", "value"],
        [[m["rule"], m["scope"], m["status"], f"{m['value']:.3f}"] for m in flagged] or [["none", "", "", ""]],
    )
    _table(
        console,
        "quarantined rows by reason",
        ["source", "rule", "rows"],
        [[s, r, str(n)] for s, r, n in quarantined] or [["none", "", ""]],
    )
    _table(
        console,
        "40-yard dash by position group (mv_position_benchmarks)",
        ["position", "classes", "prospects", "p10", "p50", "p90"],
        [
            [
                b["position_group"],
                b["years"],
                str(b["prospects"]),
                *(f"{b[k]:.2f}" if b[k] is not None else "-" for k in ("forty_p10", "forty_p50", "forty_p90")),
            ]
            for b in benchmarks
        ],
    )
    terminal.whole_line(console, f"timeline and full report: {report_path}")
    return execution.overall_status


def _table(console: Console, title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*map(cell, row))
    console.print(table)
