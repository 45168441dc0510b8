"""Validate: check that every planned batch reported, then run the data-quality rules on the work rows.

Which batches are done is decided by identity, from the chord's results and the batch ledger in
PostgreSQL, never by counting results: a redelivered batch can report twice, a lost report is found in
the ledger. A FAIL halts the run before anything reaches the canonical tables.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from etl_worker import rules
from etl_worker.db import quality, work
from etl_worker.db.engine import transaction
from etl_worker.errors import BatchesPending
from etl_worker.models import ETLPhase, PhaseStatus, TransformerStatus
from etl_worker.phases.results import Batch, Clock, Outcome, Run, RunContext, phase_record, utcnow
from etl_worker.settings import Settings


def collect_batches(
    conn: Connection, ctx: RunContext, plan: list[Batch], results: list[Outcome]
) -> tuple[dict[tuple[str, int], dict[str, Any]], list[dict[str, Any]]]:
    """Each planned batch's outcome, from the chord's results or else the ledger; raises if some are missing."""
    expected = {b.key: b for b in plan}
    outcomes: dict[tuple[str, int], dict[str, Any]] = {}
    reported = []
    for result in results:
        record = result.records[0] if result.records else {}
        key = (record.get("transformer_type"), record.get("batch_no"))
        if key in expected and record.get("execution_id") == ctx.execution_id:
            if key not in outcomes or record.get("status") == TransformerStatus.SUCCESS:
                outcomes[key] = record  # type: ignore[index]
            reported.append(record)
    ledger = work.batch_ledger(conn, ctx.extraction_id)
    for key in expected.keys() - outcomes.keys():
        if key in ledger:
            outcomes[key] = {"transformer_type": key[0], "batch_no": key[1], **ledger[key]}
    missing = sorted(expected.keys() - outcomes.keys())
    if missing:
        raise BatchesPending(f"{len(missing)} batch(es) have not reported: {missing[:5]}")
    for key, outcome in outcomes.items():
        ledger_row = ledger.get(key)
        if ledger_row and ledger_row["status"] == TransformerStatus.SUCCESS:
            outcome["status"] = TransformerStatus.SUCCESS
    return outcomes, reported


def transform_phase_record(
    ctx: RunContext,
    outcomes: dict[tuple[str, int], dict[str, Any]],
    reported: list[dict[str, Any]],
    failed: list[str],
) -> dict[str, Any]:
    """The transform phase as a whole, summarised from its batches."""
    clock = Clock.since(r.get("started_at") for r in reported)
    ends = [r["completed_at"] for r in reported if r.get("completed_at")]
    by_source: dict[str, dict[str, int]] = {}
    for (source, _), outcome in outcomes.items():
        entry = by_source.setdefault(source, {"batches": 0, "records_processed": 0, "records_failed": 0})
        entry["batches"] += 1
        entry["records_processed"] += int(outcome.get("records_processed") or 0)
        entry["records_failed"] += int(outcome.get("records_failed") or 0)
    all_failed = bool(failed) and len(failed) == len(by_source)
    record = phase_record(
        ctx,
        ETLPhase.TRANSFORM,
        PhaseStatus.FAILED if all_failed else PhaseStatus.SUCCESS,
        clock,
        None,
        {"sources": by_source, "failed_sources": failed},
        f"transformer(s) failed: {', '.join(failed)}" if failed else None,
    )
    if ETLPhase.TRANSFORM in ctx.reused:
        record["details"]["reused_from"] = ctx.replay_of
    if ends:
        record["completed_at"] = max(ends)
        record["duration_seconds"] = round((datetime.fromisoformat(max(ends)) - clock.started_at).total_seconds(), 4)
    return record


def validate(
    settings: Settings,
    ctx: RunContext,
    plan: list[Batch],
    results: list[Outcome],
    worker: str | None,
    task_id: str | None,
) -> Outcome:
    """Collect the batches (``results``: what the transform tasks returned), run the rules, store the
    metrics. Raises ``BatchesPending`` to be retried."""
    clock = Clock()
    with transaction(settings.database_url) as conn:
        work.analyze(conn, work.TRANSFORMED)
        try:
            outcomes, reported = collect_batches(conn, ctx, plan, results)
        except BatchesPending as exc:
            if utcnow() < ctx.deadline:
                raise
            run = Run().halt(f"transform did not finish before the deadline: {exc}")
            record = phase_record(
                ctx, ETLPhase.VALIDATE, PhaseStatus.FAILED, clock, worker, {}, run.halt_reason, task_id
            )
            return Outcome(run, [record])
        failed = sorted({key[0] for key, o in outcomes.items() if o.get("status") != TransformerStatus.SUCCESS})
        records = [transform_phase_record(ctx, outcomes, reported, failed)]
        run = Run(failed_sources=tuple(failed))
        sources = run.sources_ok(ctx)
        shared = work.mark_shared_ids(conn, ctx.extraction_id, sources)  # whatever rules run: the merge reads them
        metrics = rules.run_rules(conn, ctx.extraction_id, sources, failed, rules.load_rules(ctx.rules), shared)
        quality.store_metrics(conn, ctx.execution_id, ctx.extraction_id, metrics)
    status, score = rules.verdict(metrics)
    run = replace(run, quality_score=score)
    details: dict[str, Any] = {
        "overall_status": status,
        "quality_score": score,
        "rules_failed": [f"{m['rule']}[{m['scope']}]" for m in metrics if m["status"] == "fail"],
        "rules_warned": [f"{m['rule']}[{m['scope']}]" for m in metrics if m["status"] == "warn"],
        "batches": len(outcomes),
    }
    if status == "FAIL":
        error = f"data quality FAIL: {', '.join(details['rules_failed'])}"
        run = run.halt(error)
        records.append(phase_record(ctx, ETLPhase.VALIDATE, PhaseStatus.FAILED, clock, worker, details, error, task_id))
    else:
        records.append(
            phase_record(ctx, ETLPhase.VALIDATE, PhaseStatus.SUCCESS, clock, worker, details, task_id=task_id)
        )
    return Outcome(run, records)
