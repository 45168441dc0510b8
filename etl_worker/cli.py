"""The ``etl-worker`` command line: set up, stage, run, watch and read history."""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import redis
import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from etl_worker import redact, terminal
from etl_worker.display import cell, printable
from etl_worker.errors import ConfigurationError, ETLError, RetriableError
from etl_worker.models import PHASES
from etl_worker.redact import redact_url
from etl_worker.settings import Settings

console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {cell(redact.redact_text(message))}", highlight=False, soft_wrap=True)
    sys.exit(1)


_MISSING_SCHEMA = ("42P01", "42703")  # undefined table, undefined column


def friendly(func: F) -> F:
    """One readable line, not a traceback, for a user mistake or an unreachable server."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RetriableError as exc:
            _fail(f"{exc} (database {redact_url(Settings.from_env().database_url)})")
        except ETLError as exc:
            _fail(str(exc))
        except sa.exc.OperationalError as exc:
            url = redact_url(Settings.from_env().database_url)
            _fail(f"cannot reach the database at {url}: {str(exc.orig).strip().splitlines()[0]}")
        except sa.exc.ProgrammingError as exc:
            if getattr(exc.orig, "pgcode", None) not in _MISSING_SCHEMA:
                raise
            url = redact_url(Settings.from_env().database_url)
            _fail(f"the database at {url} lacks tables or columns this version needs: run `etl-worker db upgrade`")
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            settings = Settings.from_env()
            _fail(f"cannot reach the broker at {redact_url(settings.broker_url)}: {exc}")

    return wrapper  # type: ignore[return-value]


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigurationError as exc:
        _fail(str(exc))
        raise


def _id(kind: str, value: str) -> str:
    """The full execution or extraction id that ``value`` names: the id, or a unique prefix of it."""
    from etl_worker.tracking.history import resolve_id

    return resolve_id(_settings(), kind, value)


def _add_row(table: Table, *values: object) -> None:
    """A table row of values from data: escaped, never read as markup."""
    table.add_row(*(cell(v) for v in values))


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what the library does.")
def main(verbose: bool) -> None:
    """etl_worker: a distributed ETL orchestrator for NFL draft-prospect data."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    redact.install()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@friendly
def db_upgrade(revision: str) -> None:
    """Create or migrate the schema (Alembic)."""
    from etl_worker.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    console.print(f"schema at {revision} on {cell(redact_url(settings.database_url))}", highlight=False)


@main.command()
@click.argument("source")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--extraction-id", help="Add to this extraction instead of creating a new one.")
@friendly
def ingest(source: str, file: str, extraction_id: str | None) -> None:
    """Stage FILE, a SOURCE export (pff, cfr, nfl, yahoo), and print the extraction id."""
    from etl_worker.ingest import ingest_file

    settings = _settings()
    into = _id("extraction", extraction_id) if extraction_id else None
    size = os.path.getsize(file) if os.path.isfile(file) else None
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=err_console, transient=True, disable=not err_console.is_terminal) as bar:
        task = bar.add_task(f"staging {file}", total=size)

        def advance(rows: int, done: int) -> None:
            bar.update(task, completed=done, description=f"staging {file}: {rows:,} rows")

        staged = ingest_file(settings, source, file, into, on_progress=advance)
    account = staged.account
    err_console.print(
        f"staged {staged.rows:,} {source} rows from {cell(file)} ({account.lines_read:,} lines: 1 header, "
        f"{account.blank_lines:,} blank, {account.records_rejected:,} records rejected)",
        highlight=False,
        soft_wrap=True,
    )
    for rejection in account.rejected[:10]:
        err_console.print(f"  rejected line {rejection['line']:,}: {cell(rejection['reason'])}", highlight=False)
    click.echo(staged.extraction_id)


@main.command()
@click.argument("extraction_id")
@click.option("--source", "sources", multiple=True, help="Run only these transformers (repeatable).")
@click.option("--wait", is_flag=True, help="Wait for the outcome and print the execution.")
@click.option("--json", "as_json", is_flag=True, help="Print the execution as JSON (with --wait).")
@friendly
def run(extraction_id: str, sources: tuple[str, ...], wait: bool, as_json: bool) -> None:
    """Run the pipeline for EXTRACTION_ID on the workers; prints the execution id."""
    from etl_worker.broker import check_reachable as check_broker
    from etl_worker.db import staging
    from etl_worker.db.engine import check_reachable, transaction
    from etl_worker.orchestrator import ETLOrchestrator
    from etl_worker.sources import get_source

    settings = _settings()
    extraction_id = _id("extraction", extraction_id)
    for source in sources:
        get_source(source)
    check_reachable(settings.database_url)
    with transaction(settings.database_url) as conn:
        staging.extraction_state(conn, extraction_id)
    check_broker(settings.broker_url)
    if settings.result_backend != settings.broker_url:
        check_broker(settings.result_backend)
    orchestrator = ETLOrchestrator(
        max_records_per_batch=settings.max_records_per_batch,
        timeout_seconds=settings.timeout_seconds,
        settings=settings,
    )
    execution_id = orchestrator.start_extraction(extraction_id, list(sources) or None)
    if not wait:
        click.echo(execution_id)
        return
    terminal.follow(settings, execution_id, err_console, None if as_json else console)
    execution = orchestrator.wait(execution_id)
    if as_json:
        _print_json(execution.as_dict())
    else:
        terminal.render_execution(console, execution)
    if execution.overall_status == "failed":
        sys.exit(2)


@main.command()
@click.argument("execution_id")
@friendly
def cancel(execution_id: str) -> None:
    """Stop a run on every worker; nothing of it reaches the canonical tables."""
    from etl_worker.broker import check_reachable as check_broker
    from etl_worker.orchestrator import ETLOrchestrator
    from etl_worker.tracking.history import get_execution

    settings = _settings()
    execution_id = _id("execution", execution_id)
    if get_execution(settings, execution_id) is None:
        raise ConfigurationError(f"execution {execution_id} does not exist")
    check_broker(settings.broker_url)
    if ETLOrchestrator(settings=settings).cancel(execution_id):
        click.echo(f"execution {execution_id} cancelled")
    else:
        click.echo(f"execution {execution_id} had already ended; its tasks were revoked anyway")


@main.command()
@click.argument("execution_id")
@click.option("--from-phase", type=click.Choice(PHASES), help="Default: the first phase that did not succeed.")
@click.option("--wait", is_flag=True, help="Wait for the outcome and print the execution.")
@friendly
def replay(execution_id: str, from_phase: str | None, wait: bool) -> None:
    """Run EXECUTION_ID's extraction again from a phase, reusing the work of the phases before it."""
    from etl_worker.broker import check_reachable as check_broker
    from etl_worker.orchestrator import ETLOrchestrator

    settings = _settings()
    execution_id = _id("execution", execution_id)
    check_broker(settings.broker_url)
    orchestrator = ETLOrchestrator(timeout_seconds=settings.timeout_seconds, settings=settings)
    new_id = orchestrator.replay(execution_id, from_phase)
    if not wait:
        click.echo(new_id)
        return
    terminal.follow(settings, new_id, err_console, console)
    execution = orchestrator.wait(new_id)
    terminal.render_execution(console, execution)
    if execution.overall_status == "failed":
        sys.exit(2)


@main.command()
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True)
@friendly
def status(execution_id: str, as_json: bool) -> None:
    """Show one execution with its phases and transformers."""
    from etl_worker.tracking.history import get_execution

    execution = get_execution(_settings(), _id("execution", execution_id))
    if execution is None:
        raise ConfigurationError(f"execution {execution_id} does not exist")
    if as_json:
        _print_json(execution.as_dict())
    else:
        terminal.render_execution(console, execution)


@main.command()
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@friendly
def history(limit: int, as_json: bool) -> None:
    """The most recent executions."""
    from etl_worker.tracking.history import get_history

    executions = get_history(_settings(), limit)
    if as_json:
        _print_json([e.as_dict() for e in executions])
        return
    console.print(terminal.history_table(executions, console.width))


@main.command()
@click.option("--daily", type=click.IntRange(1, 100_000), help="Also per day, for this many days with runs.")
@click.option("--json", "as_json", is_flag=True)
@friendly
def summary(daily: int | None, as_json: bool) -> None:
    """Totals over every recorded execution, pruned history included (from its daily rollups)."""
    from etl_worker.tracking.history import get_daily, get_summary

    settings = _settings()
    data = get_summary(settings)
    days = get_daily(settings, daily) if daily else []
    if as_json:
        _print_json({**data, "daily": days} if daily else data)
        return
    if daily:
        per_day = Table("day", "kind", "name", "runs", "success", "failed", "other", "p50 s", "p95 s")
        for d in days:
            _add_row(
                per_day,
                str(d["day"]),
                d["kind"],
                d["name"],
                str(d["runs"]),
                str(d["successes"]),
                str(d["failures"]),
                str(d["others"]),
                f"{d['duration_p50']:.2f}" if d["duration_p50"] is not None else "-",
                f"{d['duration_p95']:.2f}" if d["duration_p95"] is not None else "-",
            )
        console.print(per_day)
    table = Table("metric", "value")
    _add_row(table, "executions", str(data["total_executions"]))
    _add_row(table, "success rate", f"{data['success_rate']:.1f}%")
    avg = data["average_duration_seconds"]
    _add_row(table, "average duration", f"{avg:.1f} s" if avg is not None else "-")
    for state, count in data["executions_by_status"].items():
        _add_row(table, f"  {state}", str(count))
    console.print(table)


@main.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@friendly
def alerts(limit: int, as_json: bool) -> None:
    """The most recent alerts, newest first, with where each was delivered."""
    from etl_worker.alerts import payload, recent

    found = recent(_settings(), limit)
    if as_json:
        _print_json([{**payload(a), "deliveries": a["deliveries"]} for a in found])
        return
    table = Table("when", "severity", "rule", "scope", "execution", "message", "delivered")
    for a in found:
        _add_row(
            table,
            f"{a['created_at']:%Y-%m-%d %H:%M:%S}",
            a["severity"],
            a["rule"],
            a["scope"],
            a["execution_id"][:8],
            a["message"][:80],
            ", ".join(f"{sink}: {state[:40]}" for sink, state in sorted(a["deliveries"].items())),
        )
    console.print(table)


@main.command()
@click.option("--older-than-days", type=click.IntRange(1, 100_000), help="Default: ETL_HISTORY_RETENTION_DAYS.")
@friendly
def prune(older_than_days: int | None) -> None:
    """Roll up old execution history per day, then delete it (the beat does this on its schedule)."""
    from etl_worker.tracking.retention import prune_history

    deleted = prune_history(_settings(), older_than_days)
    click.echo(", ".join(f"{table}: {count}" for table, count in deleted.items()))


@main.command()
@click.argument("execution_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Default: execution-<id>.html")
@friendly
def report(execution_id: str, output: str | None) -> None:
    """Write a self-contained HTML report of one execution (timeline by worker, phases, quality)."""
    from etl_worker.db import quality
    from etl_worker.db.engine import transaction
    from etl_worker.report import render
    from etl_worker.tracking.history import read_execution

    execution_id = _id("execution", execution_id)
    with transaction(_settings().database_url) as conn:
        execution = read_execution(conn, execution_id)
        if execution is None:
            raise ConfigurationError(f"execution {execution_id} does not exist")
        metrics = quality.execution_metrics(conn, execution_id)
        quarantined = quality.quarantine_summary(conn, execution.extraction_id)
    path = output or f"execution-{execution_id}.html"
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(render(execution, metrics, quarantined))
    except OSError as exc:
        raise ConfigurationError(f"cannot write the report to {printable(path)}: {exc.strerror or exc}") from None
    click.echo(path)


@main.command()
@click.argument("extraction_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--json", "as_json", is_flag=True)
@friendly
def quarantine(extraction_id: str, limit: int, as_json: bool) -> None:
    """Rows of EXTRACTION_ID that were quarantined, with the rule and the reason.

    Fix the export and stage it again into the same extraction (or a new one) to re-admit them.
    """
    from etl_worker.db import quality, staging
    from etl_worker.db.engine import transaction

    extraction_id = _id("extraction", extraction_id)
    with transaction(_settings().database_url) as conn:
        staging.extraction_state(conn, extraction_id)  # an unknown extraction is one line, not empty tables
        rows = quality.quarantined_rows(conn, extraction_id, limit)
        by_reason = quality.quarantine_summary(conn, extraction_id)
    if as_json:
        _print_json(rows)
        return
    summary = Table("source", "rule", "rows", title="quarantined rows by rule")
    for source, rule, count in by_reason:
        _add_row(summary, source, rule, str(count))
    console.print(summary)
    table = Table("source", "row", "rule", "reason", title=f"first {limit}")
    for row in rows:
        _add_row(table, row["source"], str(row["row_number"]), row["rule"], row["reason"])
    console.print(table)


@main.group(invoke_without_command=True)
@click.option("--extraction-id", default=None, help="Only this extraction.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@friendly
def review(ctx: click.Context, extraction_id: str | None, limit: int, as_json: bool) -> None:
    """Source records the merge could not place with confidence (not loaded until resolved)."""
    if ctx.invoked_subcommand is not None:
        return
    from etl_worker.db import reviews, staging
    from etl_worker.db.engine import transaction

    extraction = _id("extraction", extraction_id) if extraction_id else None
    with transaction(_settings().database_url) as conn:
        if extraction is not None:
            staging.extraction_state(conn, extraction)
        items = reviews.review_items(conn, extraction, limit)
    if as_json:
        _print_json(items)
        return
    table = Table("review", "source", "row", "name", "class", "reason", "candidates (prospect id)")
    for item in items:
        _add_row(
            table,
            str(item["review_id"]),
            item["source"],
            str(item["row_number"]),
            item["full_name"],
            str(item["draft_year"] or ""),
            item["reason"],
            "\n".join(_candidate(c) for c in item["candidates"]),
        )
    console.print(table)
    if items:
        console.print("resolve one: etl-worker review resolve REVIEW --into PROSPECT_ID | --new-person")


def _candidate(candidate: dict[str, Any]) -> str:
    if candidate["prospect_id"] is None:
        return f"{candidate['match_key']} (not loaded)"
    where = ", ".join(str(candidate[k]) for k in ("position", "college", "draft_year") if candidate[k])
    return f"{candidate['prospect_id']}: {candidate['full_name']} ({where})"


@review.command("resolve")
@click.argument("review_id", type=click.IntRange(1))
@click.option("--into", "into", type=click.IntRange(1), default=None, help="The prospect the record is.")
@click.option("--new-person", is_flag=True, help="The record is a person of its own.")
@click.option("--reason", default=None, help="Why, kept with the decision.")
@click.option("--by", "decided_by", default=None, help="Who decides (default: user@host).")
@click.option("--json", "as_json", is_flag=True)
@friendly
def review_resolve(
    review_id: int, into: int | None, new_person: bool, reason: str | None, decided_by: str | None, as_json: bool
) -> None:
    """Place a held record on a prospect or a new person, load it now, and remember the decision for the
    next extraction that carries the same record."""
    import getpass
    import socket

    from etl_worker.review import resolve

    who = decided_by or f"{getpass.getuser()}@{socket.gethostname()}"
    resolved = resolve(_settings(), review_id, into=into, new_person=new_person, decided_by=who, reason=reason)
    if as_json:
        _print_json(resolved.as_dict())
        return
    loaded = " ".join(f"{k}={v}" for k, v in resolved.loaded.items())
    where = f"prospect {resolved.prospect_id}" + (" (new)" if resolved.decision == "new_person" else "")
    console.print(f"review {review_id} resolved: the record is {where}; loaded {loaded}", highlight=False)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes (default: cores).")
@click.option("--hostname", "-n", default=None, help="Node name, e.g. worker1@%h.")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.pass_context
@friendly
def worker(ctx: click.Context, concurrency: int | None, hostname: str | None, loglevel: str) -> None:
    """Run a Celery worker of etl_worker (other celery worker options pass through)."""
    from etl_worker.celery_app import app
    from etl_worker.db.migrate import check_current

    check_current(_settings().database_url)
    argv = ["worker", f"--loglevel={loglevel}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main([*argv, *ctx.args])


@main.command()
@friendly
def listener() -> None:
    """Follow the result backend and write execution history to PostgreSQL; hand a lost worker's tasks on.

    Besides history, the listener runs the reaper: a worker silent for ETL_WORKER_LOST_SECONDS is lost,
    and the tasks it held go back to the queue at once (see etl_worker.tracking.reaper).
    """
    from etl_worker.celery_app import app
    from etl_worker.db.migrate import check_current
    from etl_worker.tracking.listener import Listener
    from etl_worker.tracking.reaper import Reaper

    settings = _settings()
    check_current(settings.database_url)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    follower = Listener(settings)
    reaper = Reaper(settings, app)
    reaping = threading.Thread(target=reaper.run, args=(stop,), name="reaper", daemon=True)
    reaping.start()
    err_console.print(f"listener following {cell(redact_url(settings.result_backend))}", highlight=False)
    follower.run(stop, on_ready=lambda: err_console.print("listener ready"))
    reaping.join(10)
    err_console.print(f"listener stopped after {follower.recorded} records; {reaper.handed_over} task(s) handed over")


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--schedule-file", type=click.Path(dir_okay=False), help="Default: in the data directory.")
@click.option("--loglevel", "-l", default="INFO", show_default=True)
@click.pass_context
@friendly
def beat(ctx: click.Context, schedule_file: str | None, loglevel: str) -> None:
    """Run the scheduler: start staged extractions nobody ran; prune history past its retention."""
    from etl_worker.celery_app import app
    from etl_worker.db.migrate import check_current
    from etl_worker.embedded import etl_home, private_dir

    settings = _settings()
    check_current(settings.database_url)
    path = Path(schedule_file) if schedule_file else private_dir(etl_home()) / "celerybeat-schedule"
    path.parent.mkdir(parents=True, exist_ok=True)
    s = settings.schedule
    err_console.print(
        f"beat: staged extractions every {s.staged_seconds} s (after {s.settle_seconds} s quiet), "
        f"history pruning every {s.prune_seconds} s (keeps {s.retention_days} days)"
    )
    app.start(["beat", f"--schedule={path}", f"--loglevel={loglevel}", *ctx.args])


@main.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600), help="Seconds.")
@friendly
def watch(directory: str, interval: float) -> None:
    """Stage and run every export file that appears in DIRECTORY (named after its source: pff_2021.csv)."""
    from etl_worker.dropfolder import DropFolder

    folder = Path(directory)
    if not folder.is_dir():
        raise ConfigurationError(f"cannot watch {folder}: no such directory")
    from etl_worker.db.migrate import check_current

    settings = _settings()
    check_current(settings.database_url)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    watcher = DropFolder(settings, folder)
    console.print(f"watching {cell(folder)} every {interval:g} s", highlight=False)
    while not stop.is_set():
        for outcome in watcher.poll():
            line = f"{outcome.status} {outcome.path.name}: {outcome.message}"
            if outcome.execution_id:
                line += f" (extraction {outcome.extraction_id}, execution {outcome.execution_id})"
            console.print(cell(line), highlight=False, soft_wrap=True)
        stop.wait(interval)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--port", default=5555, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True)
@click.option("--insecure", is_flag=True, help="Start without basic auth.")
@click.pass_context
@friendly
def flower(ctx: click.Context, port: int, address: str, insecure: bool) -> None:
    """Start Flower for etl_worker's app, with basic auth from ETL_FLOWER_BASIC_AUTH (user:password)."""
    auth = os.environ.get("ETL_FLOWER_BASIC_AUTH", "")
    if not auth and not insecure:
        raise ConfigurationError("set ETL_FLOWER_BASIC_AUTH=user:password (or pass --insecure)")
    if auth and ":" not in auth:
        raise ConfigurationError("ETL_FLOWER_BASIC_AUTH must look like user:password")
    argv = [sys.executable, "-m", "etl_worker.flower_auth", f"--port={port}", f"--address={address}"]
    env = {k: v for k, v in os.environ.items() if k != "FLOWER_BASIC_AUTH"}
    if auth:
        env["FLOWER_BASIC_AUTH"] = auth  # read by Flower from its environment, not shown in the process list
    os.execve(sys.executable, [*argv, *ctx.args], env)


@main.command()
@friendly
def demo() -> None:
    """Run the whole system on the bundled sample data and print a report (embedded servers by default)."""
    from etl_worker.demo import run_demo

    status = run_demo(console)
    sys.exit(0 if status in ("success", "partial_success") else 2)


if __name__ == "__main__":
    main()
