"""What the data asks of a person: quarantined rows, records held for review, and resolving them."""

from __future__ import annotations

from typing import Any

import click

from etl_worker.cli.app import console, friendly, full_id, load_settings, main, operator, print_json
from etl_worker.errors import NotFoundError
from etl_worker.terminal import Column, fitted_table, whole_line


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
    console.print(
        fitted_table(
            (Column("source", keep=100), Column("rule", keep=90), Column("rows", keep=100, justify="right")),
            [(source, rule, f"{count:,}") for source, rule, count in by_reason],
            console.width,
            title="quarantined rows by rule",
        )
    )
    columns = (
        Column("source", keep=80),
        Column("row", keep=100, justify="right"),
        Column("rule", keep=60),
        Column("reason", keep=90, free=True),
    )
    rows_shown = [(r["source"], r["row_number"], r["rule"], r["reason"]) for r in rows]
    console.print(fitted_table(columns, rows_shown, console.width, title=f"first {limit}"))


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
    columns = (
        Column("review", keep=100, justify="right"),
        Column("source", keep=70),
        Column("row", keep=40, justify="right"),
        Column("name", keep=90),
        Column("class", keep=60),
        Column("prospect id", keep=95, justify="right"),
        Column("why held / candidate", keep=50, free=True),
    )
    lines: list[tuple[object, ...]] = []
    for item in items:  # the item and why it is held, then one line per candidate
        lines.append(
            (
                item["review_id"],
                item["source"],
                item["row_number"],
                item["full_name"],
                item["draft_year"] or "",
                "",
                item["reason"],
            )
        )
        lines.extend(("", "", "", "", "", *_candidate(c)) for c in item["candidates"])
    console.print(fitted_table(columns, lines, console.width))
    if items:
        console.print("resolve one: etl-worker review resolve REVIEW --into PROSPECT_ID | --new-person")


def _candidate(candidate: dict[str, Any]) -> tuple[str, str]:
    """A candidate's prospect id (or that it is not loaded yet) and who it is."""
    if candidate["prospect_id"] is None:
        return "not loaded", str(candidate["match_key"])
    where = ", ".join(str(candidate[k]) for k in ("position", "college", "draft_year") if candidate[k])
    return str(candidate["prospect_id"]), f"{candidate['full_name']} ({where})"


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


@main.command()
@click.argument("prospect_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True)
@friendly
def explain(prospect_id: int, as_json: bool) -> None:
    """Why each source record is PROSPECT_ID: how it was matched, and field by field what it shared with
    the person when it joined (name, class, college, position, ids)."""
    from etl_worker.db import canonical
    from etl_worker.db.engine import transaction
    from etl_worker.phases.weigh import waterfall

    with transaction(load_settings().database_url) as conn:
        person = canonical.prospect(conn, prospect_id)
        if person is None:
            raise NotFoundError(f"prospect {prospect_id} does not exist")
        links = canonical.prospect_lineage(conn, prospect_id)
    if as_json:
        print_json({"prospect": person, "links": links})
        return
    where = ", ".join(str(person[k]) for k in ("position", "college") if person[k])
    whole_line(
        console, f"{person['full_name']} (prospect {prospect_id}): {where}, class of {person['draft_year'] or '?'}"
    )
    columns = (
        Column("source", keep=100),
        Column("row", keep=90, justify="right"),
        Column("matched by", keep=95),
        Column("conf.", keep=40, justify="right"),
        *(Column(f, keep=k) for f, k in (("name", 85), ("class", 80), ("college", 80), ("position", 70))),
        Column("shared id", keep=60, free=True),
    )
    fields = ("name", "class", "college", "position")

    def row(link: dict[str, Any]) -> tuple[object, ...]:
        evidence = link["evidence"] or {}
        shared = evidence.get("id") or evidence.get("decided", "")
        method, confidence = link["match_method"], f"{link['match_confidence']:.2f}"
        return (link["source"], link["staging_row"], method, confidence, *(evidence.get(f, "") for f in fields), shared)

    rows = [row(link) for link in links]
    console.print(fitted_table(columns, rows, console.width))
    console.print("each record against the person as it stood before the record joined; 'new' started the person")
    for link in links:
        steps = waterfall(link["evidence"]) if link["match_method"] == "weighed" else []
        if steps:
            whole_line(console, f"{link['source']} row {link['staging_row']}, weighed (log2 odds):")
            for step, weight, total in steps:
                console.print(f"  {step:<22} {weight:+6.1f}  {total:+6.1f}")
