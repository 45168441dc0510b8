"""Setting up: the schema, and staging exports."""

from __future__ import annotations

import os

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from etl_worker.cli.app import console, err_console, friendly, full_id, load_settings, main
from etl_worker.display import cell
from etl_worker.redact import redact_url


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@friendly
def db_upgrade(revision: str) -> None:
    """Create or migrate the schema (Alembic)."""
    from etl_worker.db.migrate import upgrade

    settings = load_settings()
    upgrade(settings.database_url, revision)
    console.print(f"schema at {revision} on {cell(redact_url(settings.database_url))}", highlight=False)


@main.command()
@click.argument("source")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--extraction-id", help="Add to this extraction instead of creating a new one.")
@friendly
def ingest(source: str, file: str, extraction_id: str | None) -> None:
    """Stage FILE, an export of SOURCE (a registered source: nfl, pfr, espn, cfr, pff, yahoo or a plug-in),
    and print the extraction id."""
    from etl_worker.ingest import ingest_file

    settings = load_settings()
    into = full_id("extraction", extraction_id) if extraction_id else None
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
