"""Runs: start, wait for, cancel and replay them; one, the history and the summary; the HTML report."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from etl_worker import terminal
from etl_worker.cli.app import (
    add_row,
    console,
    err_console,
    friendly,
    full_id,
    load_settings,
    main,
    operator,
    print_json,
    warn,
)
from etl_worker.display import printable
from etl_worker.errors import ConfigurationError
from etl_worker.models import PHASES, ETLStatus


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

    settings = load_settings()
    extraction_id = full_id("extraction", extraction_id)
    for source in sources:
        get_source(source)
    check_reachable(settings.database_url)
    with transaction(settings.database_url) as conn:
        staging.extraction_state(conn, extraction_id)
    check_broker(settings.broker_url)
    if settings.result_backend != settings.broker_url:
        check_broker(settings.result_backend)
    orchestrator = ETLOrchestrator(settings=settings, requested_by=operator())
    orchestrator.on_notice = warn
    execution_id = orchestrator.start_extraction(extraction_id, list(sources) or None)
    if not wait:
        click.echo(execution_id)
        return
    terminal.follow(
        settings, execution_id, lambda: orchestrator.ended(execution_id), err_console, None if as_json else console
    )
    execution = orchestrator.wait(execution_id)
    if as_json:
        print_json(execution.as_dict())
    else:
        terminal.render_execution(console, execution)
    if execution.overall_status == ETLStatus.FAILED:
        sys.exit(2)


@main.command()
@click.argument("execution_id")
@friendly
def cancel(execution_id: str) -> None:
    """Stop a run on every worker; nothing of it reaches the canonical tables."""
    from etl_worker.broker import check_reachable as check_broker
    from etl_worker.orchestrator import ETLOrchestrator
    from etl_worker.tracking.history import get_execution

    settings = load_settings()
    execution_id = full_id("execution", execution_id)
    if get_execution(settings, execution_id) is None:
        raise ConfigurationError(f"execution {execution_id} does not exist")
    check_broker(settings.broker_url)
    if ETLOrchestrator(settings=settings, requested_by=operator()).cancel(execution_id):
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

    settings = load_settings()
    execution_id = full_id("execution", execution_id)
    check_broker(settings.broker_url)
    orchestrator = ETLOrchestrator(settings=settings, requested_by=operator())
    orchestrator.on_notice = warn
    new_id = orchestrator.replay(execution_id, from_phase)
    if not wait:
        click.echo(new_id)
        return
    terminal.follow(settings, new_id, lambda: orchestrator.ended(new_id), err_console, console)
    execution = orchestrator.wait(new_id)
    terminal.render_execution(console, execution)
    if execution.overall_status == ETLStatus.FAILED:
        sys.exit(2)


@main.command()
@click.argument("execution_id")
@click.option("--json", "as_json", is_flag=True)
@friendly
def status(execution_id: str, as_json: bool) -> None:
    """Show one execution with its phases and transformers."""
    from etl_worker.tracking.history import get_execution

    execution = get_execution(load_settings(), full_id("execution", execution_id))
    if execution is None:
        raise ConfigurationError(f"execution {execution_id} does not exist")
    if as_json:
        print_json(execution.as_dict())
    else:
        terminal.render_execution(console, execution)


@main.command()
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@friendly
def history(limit: int, as_json: bool) -> None:
    """The most recent executions."""
    from etl_worker.tracking.history import get_history

    executions = get_history(load_settings(), limit)
    if as_json:
        print_json([e.as_dict() for e in executions])
        return
    console.print(terminal.history_table(executions, console.width))


@main.command()
@click.option("--daily", type=click.IntRange(1, 100_000), help="Also per day, for this many days with runs.")
@click.option("--json", "as_json", is_flag=True)
@friendly
def summary(daily: int | None, as_json: bool) -> None:
    """Totals over every recorded execution, pruned history included (from its daily rollups)."""
    from etl_worker.tracking.history import get_daily, get_summary

    settings = load_settings()
    data = get_summary(settings)
    days = get_daily(settings, daily) if daily else []
    if as_json:
        print_json({**data, "daily": days} if daily else data)
        return
    if daily:
        columns = (
            terminal.Column("day", keep=100),
            terminal.Column("kind", keep=90),
            terminal.Column("name", keep=95),
            terminal.Column("runs", keep=85, justify="right"),
            terminal.Column("success", keep=60, justify="right"),
            terminal.Column("failed", keep=80, justify="right"),
            terminal.Column("other", keep=30, justify="right"),
            terminal.Column("p50 s", keep=50, justify="right"),
            terminal.Column("p95 s", keep=55, justify="right"),
        )
        rows = [
            (
                d["day"],
                d["kind"],
                d["name"],
                d["runs"],
                d["successes"],
                d["failures"],
                d["others"],
                *(f"{d[k]:.2f}" if d[k] is not None else "-" for k in ("duration_p50", "duration_p95")),
            )
            for d in days
        ]
        console.print(terminal.fitted_table(columns, rows, console.width))
    table = Table("metric", "value")
    add_row(table, "executions", str(data["total_executions"]))
    add_row(table, "success rate", f"{data['success_rate']:.1f}%")
    avg = data["average_duration_seconds"]
    add_row(table, "average duration", f"{avg:.1f} s" if avg is not None else "-")
    for state, count in data["executions_by_status"].items():
        add_row(table, f"  {state}", str(count))
    console.print(table)


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

    execution_id = full_id("execution", execution_id)
    with transaction(load_settings().database_url) as conn:
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
