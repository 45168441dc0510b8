"""What the data asks of a person: quarantined rows, records held for review, and resolving them."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from etl_worker.cli.app import add_row, console, friendly, full_id, load_settings, main, operator, print_json


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

    extraction_id = full_id("extraction", extraction_id)
    with transaction(load_settings().database_url) as conn:
        staging.extraction_state(conn, extraction_id)  # an unknown extraction is one line, not empty tables
        rows = quality.quarantined_rows(conn, extraction_id, limit)
        by_reason = quality.quarantine_summary(conn, extraction_id)
    if as_json:
        print_json(rows)
        return
    summary = Table("source", "rule", "rows", title="quarantined rows by rule")
    for source, rule, count in by_reason:
        add_row(summary, source, rule, str(count))
    console.print(summary)
    table = Table("source", "row", "rule", "reason", title=f"first {limit}")
    for row in rows:
        add_row(table, row["source"], str(row["row_number"]), row["rule"], row["reason"])
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

    extraction = full_id("extraction", extraction_id) if extraction_id else None
    with transaction(load_settings().database_url) as conn:
        if extraction is not None:
            staging.extraction_state(conn, extraction)
        items = reviews.review_items(conn, extraction, limit)
    if as_json:
        print_json(items)
        return
    table = Table("review", "source", "row", "name", "class", "reason", "candidates (prospect id)")
    for item in items:
        add_row(
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
    from etl_worker.ops.review import resolve

    who = decided_by or operator()
    resolved = resolve(load_settings(), review_id, into=into, new_person=new_person, decided_by=who, reason=reason)
    if as_json:
        print_json(resolved.as_dict())
        return
    loaded = " ".join(f"{k}={v}" for k, v in resolved.loaded.items())
    where = f"prospect {resolved.prospect_id}" + (" (new)" if resolved.decision == "new_person" else "")
    console.print(f"review {review_id} resolved: the record is {where}; loaded {loaded}", highlight=False)
