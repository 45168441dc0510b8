"""Operations: recent alerts, and pruning history."""

from __future__ import annotations

import click

from etl_worker.cli.app import console, friendly, load_settings, main, print_json
from etl_worker.terminal import Column, fitted_table


@main.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True)
@friendly
def alerts(limit: int, as_json: bool) -> None:
    """The most recent alerts, newest first, with where each was delivered."""
    from etl_worker.ops.alerts import payload, recent

    found = recent(load_settings(), limit)
    if as_json:
        print_json([{**payload(a), "deliveries": a["deliveries"]} for a in found])
        return
    columns = (
        Column("when", keep=90),
        Column("severity", keep=80),
        Column("rule", keep=100),
        Column("scope", keep=40),
        Column("execution", keep=70),
        Column("delivered", keep=30),
        Column("message", keep=60, free=True),
    )
    rows = [
        (
            f"{a['created_at']:%Y-%m-%d %H:%M:%S}",
            a["severity"],
            a["rule"],
            a["scope"],
            a["execution_id"][:8],
            ", ".join(f"{sink}: {state[:40]}" for sink, state in sorted(a["deliveries"].items())),
            a["message"],
        )
        for a in found
    ]
    console.print(fitted_table(columns, rows, console.width))


@main.command()
@click.option("--older-than-days", type=click.IntRange(1, 100_000), help="Default: ETL_HISTORY_RETENTION_DAYS.")
@friendly
def prune(older_than_days: int | None) -> None:
    """Roll up old execution history per day, then delete it (the beat does this on its schedule)."""
    from etl_worker.ops.retention import prune_history

    deleted = prune_history(load_settings(), older_than_days)
    click.echo(", ".join(f"{table}: {count}" for table, count in deleted.items()))
