"""Merge: resolve the work prospects of the sources that transformed into one row per real person.

Records join the people already in ``prospect_core`` (so a later extraction updates, never
duplicates) or new ones; ambiguous records go to ``match_reviews`` and are not loaded. Records can
only be one person within a block of the same folded surname, so the blocks are split into parts (by
a hash of the surname into buckets, stored on each work prospect at transform; a part resolves a range
of buckets) resolved by parallel tasks, as many as the run planned from its size; the merge phase is
their sum.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from etl_worker.db import canonical, reviews, work
from etl_worker.db.engine import transaction
from etl_worker.models import ETLPhase, PhaseStatus
from etl_worker.phases.resolve import (
    BUCKETS,
    RECORD_COLUMNS,
    Link,
    Record,
    block_bucket,
    combined_row,
    existing_person,
    merged_row,
    part_buckets,
    resolve_block,
)
from etl_worker.phases.results import Clock, Outcome, PartResult, Run, RunContext, phase_record
from etl_worker.phases.weigh import MEASURED, WEIGHTS, Doubt, Profile, joined, profile, reconcile
from etl_worker.settings import Linkage, Settings
from etl_worker.sources import registry


def merge_part(settings: Settings, ctx: RunContext, run: Run, part: int) -> PartResult:
    """Resolve one partition of the surname blocks; returns its counts (the phase record comes later)."""
    clock = Clock()
    extraction_id = ctx.extraction_id
    sources = run.sources_ok(ctx)
    counts = {"records_linked": 0, "prospects_merged": 0, "held_for_review": 0}
    methods: dict[str, int] = {}
    held_records: set[tuple[str, int]] = set()
    buckets = part_buckets(part, ctx.merge_parts)
    with transaction(settings.database_url) as conn:
        work.clear_resolution(conn, extraction_id, ctx.execution_id, buckets)
        decided = reviews.decided(conn, extraction_id, sources, buckets)
        loaded = work.loaded_links(conn, extraction_id, buckets)  # what its loaded merge placed, if any
        for page in work.prospect_blocks(conn, extraction_id, sources, buckets, (*RECORD_COLUMNS, "id_shared")):
            # Ids another record of the extraction also carries (validate marked them) join nobody.
            untrusted = {(r["source"], r["source_player_id"]) for r in page if r["id_shared"]}
            links: list[dict[str, Any]] = []
            merged: list[dict[str, Any]] = []
            held: list[dict[str, Any]] = []
            surnames = sorted({r["surname_key"] for r in page})
            known: dict[str, list[dict[str, Any]]] = {}
            for row in canonical.prospects_by_surnames(conn, surnames):
                known.setdefault(row["surname_key"], []).append(row)
            for surname, rows in groupby(page, key=lambda r: r["surname_key"]):
                records = [Record.from_row(r) for r in rows]
                placed = {
                    key: Link(record, **loaded[key])
                    for record in records
                    if (key := (record.source, record.row_number)) in loaded
                }
                existing = [existing_person(row) for row in known.get(surname, [])]
                people, block_links, block_reviews = resolve_block(
                    extraction_id, records, existing, untrusted, decided, placed
                )
                bucket = block_bucket(surname)
                merged.extend({**merged_row(extraction_id, p), "block_bucket": bucket} for p in people)
                for link in block_links:
                    methods[link.method] = methods.get(link.method, 0) + 1
                    links.append(
                        {
                            "extraction_id": extraction_id,
                            "execution_id": ctx.execution_id,
                            "block_bucket": bucket,
                            "source": link.record.source,
                            "row_number": link.record.row_number,
                            "match_key": link.match_key,
                            "method": link.method,
                            "confidence": link.confidence,
                            "evidence": dict(link.evidence) or None,
                        }
                    )
                held.extend(
                    {
                        "extraction_id": extraction_id,
                        "source": r.record.source,
                        "row_number": r.record.row_number,
                        "full_name": r.record.full_name,
                        "draft_year": r.record.draft_year,
                        "reason": r.reason,
                        "candidates": r.candidates,
                        "weighed": False,
                    }
                    for r in block_reviews
                )
            work.write_resolution(conn, links, merged, held)
            held_records.update((h["source"], h["row_number"]) for h in held)
            counts["records_linked"] += len(links)
            counts["prospects_merged"] += len(merged)
            counts["held_for_review"] += len(held)
        work.keep_reviews(conn, extraction_id, buckets, held_records, weighed=False)
    return PartResult(
        run, part, started_at=clock.started_at.isoformat(), figures={"counts": counts, "methods": methods}
    )


def merge(
    settings: Settings, ctx: RunContext, parts: list[PartResult], worker: str | None, task_id: str | None
) -> Outcome:
    """The merge phase from its parts: one record; a part that failed fails the phase and halts the run."""
    run = parts[0].run
    clock = Clock.since(p.started_at for p in parts)
    counts: dict[str, int] = {}
    methods: dict[str, int] = {}
    for result in parts:
        for key, value in result.figures.get("counts", {}).items():
            counts[key] = counts.get(key, 0) + value
        for key, value in result.figures.get("methods", {}).items():
            methods[key] = methods.get(key, 0) + value
    errors = [f"part {p.part}: {p.error}" for p in parts if p.error]
    ordered = sorted(parts, key=lambda p: int(p.part))
    per_part = [p.figures.get("counts", {}).get("records_linked", 0) for p in ordered]
    details = {**counts, "match_methods": methods, "records_linked_per_part": per_part}
    if errors:
        error = "; ".join(errors)
        record = phase_record(ctx, ETLPhase.MERGE, PhaseStatus.FAILED, clock, worker, details, error, task_id)
        return Outcome(run.halt(f"merge failed: {error}"), [record])
    with transaction(settings.database_url) as conn:
        weighed = weigh_people(conn, ctx, settings.linkage)
        # What the weighing changed: people joined, records held; the links by method as they now stand.
        counts["held_for_review"] += weighed["records_held"]
        methods, counts["prospects_merged"] = work.link_figures(conn, ctx.extraction_id, ctx.execution_id)
        counts["records_linked"] = sum(methods.values())
        details = {**counts, **weighed, "match_methods": methods, "records_linked_per_part": per_part}
        work.analyze(conn, work.MERGED)  # the load joins what the parts wrote: plan it on fresh statistics
    record = phase_record(ctx, ETLPhase.MERGE, PhaseStatus.SUCCESS, clock, worker, details, task_id=task_id)
    return Outcome(run, [record])


def _loaded_profiles(rows: list[dict[str, Any]]) -> list[Profile]:
    """Profiles of loaded prospects from ``canonical.prospects_of_classes`` rows (one per measuring source)."""
    known = registry()
    found = []
    for key, group in groupby(rows, key=lambda r: r["match_key"]):
        listed = list(group)
        first = listed[0]
        ids = first["source_ids"] or {}
        as_records = [
            {**r, "row_number": 0, "source_player_id": ids.get(r["source"]), "other_ids": ids}
            for r in listed
            if r["source"] in known
        ]
        measured = {r["source"] for r in as_records}
        as_records += [
            {**first, **dict.fromkeys(MEASURED), "source": s, "row_number": 0, "source_player_id": v, "other_ids": ids}
            for s, v in ids.items()
            if s in known and s not in measured
        ]
        if as_records and (p := profile(key, as_records, loaded=True)) is not None:
            found.append(p)
    return found


def _trusted_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One person's merged rows, the one with the most trusted spelling of the name first (its key, name
    and block are the person's), then by block."""
    return sorted(rows, key=lambda r: (r["ranks"].get("full_name", 1 << 30), r["block_bucket"]))


def _holds(
    doubts: list[Doubt], profiles: dict[str, Profile], touched: set[str]
) -> dict[str, list[tuple[Profile, Doubt]]]:
    """The people held for review on a doubt (the one that would have joined the other, never a loaded
    prospect, nor a person a fold already changed): key -> [(the other, the doubt)]."""
    held: dict[str, list[tuple[Profile, Doubt]]] = {}
    for doubt in doubts:
        pair = sorted(
            (profiles[doubt.first], profiles[doubt.second]), key=lambda p: (not p.loaded, p.rank, p.match_key)
        )
        other, side = pair
        if side.loaded or side.match_key in touched:
            continue
        held.setdefault(side.match_key, []).append((other, doubt))
    return held


def _reason(linkage: Linkage, doubts: list[tuple[Profile, Doubt]]) -> str:
    said = []
    for other, doubt in doubts:
        facts = ", ".join(f"{name} {doubt.evidence[name]}" for name in WEIGHTS if name in doubt.evidence)
        said.append(f"{other.full_name}, {doubt.score:+.1f} ({facts})")
    return (
        f"may be the same person as {'; or '.join(said)}: weighed evidence between {linkage.review_above:g} "
        f"(review) and {linkage.link_above:g} (one person)"
    )


def _one_row_each(conn: Any, extraction_id: str, into: dict[str, str]) -> list[dict[str, Any]]:
    """One merged row for each person that now has several: people joined (``into``: absorbed -> the
    person joined) and people placed from several blocks."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in work.merged_rows(conn, extraction_id, sorted({*into, *into.values()})):
        person = into.get(row["match_key"], row["match_key"])
        groups.setdefault(person, []).append({**row, "match_key": person})
    return [combined_row(_trusted_first(group)) for _, group in sorted(groups.items())]


def weigh_people(conn: Any, ctx: RunContext, linkage: Linkage) -> dict[str, int]:
    """After the parts: people of one draft class whose records the surname blocks kept apart (a slip in a
    surname) join on weighed evidence (``etl_worker.phases.weigh``): their links move to the person they
    joined, with the score and each field's part, and their merged rows become one. A pair in doubt holds
    the records of the one that would have joined for review. A person placed from several blocks (an
    operator's decision; a re-run placing what its loaded merge weighed) gets one merged row; a person an
    operator placed is not weighed again."""
    extraction_id = ctx.extraction_id
    seasons = [name for name, source in registry().items() if source.seasons]
    ours_keys, loaded_keys = work.weighing_candidates(conn, extraction_id, ctx.execution_id, seasons)
    records = work.linked_records(conn, extraction_id, ctx.execution_id, MEASURED, ours_keys)
    people: dict[str, list[dict[str, Any]]] = {}
    for row in records:
        people.setdefault(row["match_key"], []).append(row)
    decided = {row["match_key"] for row in records if row["method"] == "review"}
    # A person of this run that is a loaded prospect is what the prospect holds and what the run brings.
    loaded = {
        p.match_key: p for p in _loaded_profiles(canonical.prospects_by_keys(conn, [*loaded_keys, *people], MEASURED))
    }
    profiles = [p for key, p in loaded.items() if key not in people]
    for key, rows in people.items():
        if key not in decided and (ours := profile(key, rows)) is not None:
            profiles.append(joined(ours, loaded[key]) if key in loaded else ours)
    folds, doubts = reconcile(profiles, linkage.link_above, linkage.review_above)
    touched = {f.absorbed for f in folds} | {f.into for f in folds}
    held = _holds(doubts, {p.match_key: p for p in profiles}, touched)
    relinked: list[dict[str, Any]] = [
        {
            "absorbed": f.absorbed,
            "into": f.into,
            "score": 1.0 if f.score == float("inf") else round(1 - 1 / (1 + 2**f.score), 4),
            "facts": {"class": "same", **f.evidence},
        }
        for f in folds
    ]
    relinked += [{"absorbed": key, "into": None} for key in held]
    into = {f.absorbed: f.into for f in folds}
    merged = _one_row_each(conn, extraction_id, into)
    work.fold_people(conn, extraction_id, ctx.execution_id, relinked, sorted({*into, *held}), merged)
    holds = [
        {
            "extraction_id": extraction_id,
            "source": r["source"],
            "row_number": r["row_number"],
            "full_name": r["full_name"],
            "draft_year": r["draft_year"],
            "reason": _reason(linkage, doubts_of),
            "candidates": [other.match_key for other, _ in doubts_of],
            "weighed": True,
        }
        for key, doubts_of in sorted(held.items())
        for r in people[key]
    ]
    work.write_resolution(conn, [], [], holds)
    work.keep_reviews(conn, extraction_id, (0, BUCKETS), {(h["source"], h["row_number"]) for h in holds}, weighed=True)
    return {
        "people_weighed_together": len(folds),
        "pairs_in_doubt": len(doubts),
        "people_held": len(held),
        "records_held": len(holds),
    }
