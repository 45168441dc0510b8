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
    RECORD_COLUMNS,
    Link,
    Record,
    block_bucket,
    existing_person,
    merged_row,
    part_buckets,
    resolve_block,
)
from etl_worker.phases.results import Clock, Outcome, PartResult, Run, RunContext, phase_record
from etl_worker.settings import Settings


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
                    }
                    for r in block_reviews
                )
            work.write_resolution(conn, links, merged, held)
            held_records.update((h["source"], h["row_number"]) for h in held)
            counts["records_linked"] += len(links)
            counts["prospects_merged"] += len(merged)
            counts["held_for_review"] += len(held)
        work.keep_reviews(conn, extraction_id, buckets, held_records)
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
        work.analyze(conn, work.MERGED)  # the load joins what the parts wrote: plan it on fresh statistics
    record = phase_record(ctx, ETLPhase.MERGE, PhaseStatus.SUCCESS, clock, worker, details, task_id=task_id)
    return Outcome(run, [record])
