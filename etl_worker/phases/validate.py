"""Validate: check that every planned batch reported, then run the data-quality rules on the work rows.

Which batches are done is decided by identity, from the chord's results and the batch ledger in
PostgreSQL, never by counting results: a redelivered batch can report twice, a lost report is found in
the ledger. A FAIL halts the run before anything reaches the canonical tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_worker.db import quality, work
from etl_worker.db.engine import transaction
from etl_worker.db.schema import work_measurements, work_prospects
from etl_worker.errors import RetriableError
from etl_worker.models import ETLPhase, PhaseStatus, TransformerStatus
from etl_worker.phases.results import Batch, Clock, halt, new_run, phase_record, skipped, sources_ok, utcnow
from etl_worker.settings import Settings


class BatchesPending(RetriableError):
    """Some planned batches have not reported yet; validate waits for them until the run's deadline."""


@dataclass
class Scope:
    """What the rules measure (an extraction's work rows of some sources), with what several rules read
    computed once: the volumes per source and every range check in one scan of the measurements."""

    conn: Connection
    extraction_id: str
    sources: list[str]
    _computed: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._computed:
            self._computed[key] = compute()
        return self._computed[key]

    def volumes(self) -> dict[str, dict[str, int]]:
        return self.once("volumes", lambda: quality.source_volumes(self.conn, self.extraction_id, self.sources))


Measure = Callable[[Scope], dict[str, float]]


@dataclass(frozen=True)
class Rule:
    """A declarative data-quality rule: a measure per scope, with warn and fail thresholds.

    ``higher_is_worse`` says which way the thresholds point (a rate of bad rows vs. a completeness);
    a rule without a fail threshold can only warn.
    """

    name: str
    warn: float
    fail: float | None
    higher_is_worse: bool
    measure: Measure

    def judge(self, value: float) -> str:
        def worse(threshold: float) -> bool:
            return value > threshold if self.higher_is_worse else value < threshold

        if self.fail is not None and worse(self.fail):
            return "fail"
        return "warn" if worse(self.warn) else "pass"


def _quarantine_rate(scope: Scope) -> dict[str, float]:
    return {s: (v["quarantined"] / v["processed"] if v["processed"] else 0.0) for s, v in scope.volumes().items()}


def _transformed_rows(scope: Scope) -> dict[str, float]:
    return {"all": float(sum(v["succeeded"] for v in scope.volumes().values()))}


def _unaccounted_rows(scope: Scope) -> dict[str, float]:
    return quality.unaccounted_rows(scope.conn, scope.extraction_id, scope.sources)


def _completeness(table: sa.Table, column: str, only: tuple[str, ...] | None = None) -> Measure:
    def measure(scope: Scope) -> dict[str, float]:
        wanted = [s for s in scope.sources if only is None or s in only]
        return quality.completeness(scope.conn, scope.extraction_id, wanted, table, column) if wanted else {}

    return measure


def _range(field_name: str) -> Measure:
    """The share of ``field_name`` values outside their position group's range (``_RANGES``), per group;
    every range rule reads the one scan that checks them all."""

    def measure(scope: Scope) -> dict[str, float]:
        checked = scope.once(
            "ranges",
            lambda: quality.out_of_range_by_group(scope.conn, scope.extraction_id, scope.sources, _RANGES),
        )
        return dict(checked.get(field_name, {}))

    return measure


def _duplicate_ids(scope: Scope) -> dict[str, float]:
    return quality.duplicate_id_share(scope.conn, scope.extraction_id, scope.sources)


def _combine_weight_agreement(scope: Scope) -> dict[str, float]:
    if not {"nfl", "pfr"} <= set(scope.sources):
        return {}
    share = quality.weight_disagreement(scope.conn, scope.extraction_id, "nfl", "pfr", tolerance=3.0)
    return {} if share is None else {"nfl~pfr": share}


def _volume_drop(scope: Scope) -> dict[str, float]:
    return quality.volume_drop(scope.conn, scope.extraction_id, scope.sources)


_CLASS_SOURCES = ("nfl", "pfr", "espn", "pff", "yahoo")  # every source but the college seasons
_COMBINE = ("nfl", "pfr")
_WEIGHT = {
    None: (150.0, 400.0),
    "QB": (185.0, 275.0),
    "RB": (165.0, 270.0),
    "WR": (150.0, 250.0),
    "TE": (215.0, 295.0),
    "OL": (265.0, 385.0),
    "DL": (240.0, 375.0),
    "EDGE": (215.0, 310.0),
    "LB": (195.0, 280.0),
    "DB": (160.0, 240.0),
}
_FORTY = {None: (4.2, 5.9), "OL": (4.6, 6.0), "DL": (4.4, 5.9)}
_SHUTTLE = {None: (3.6, 5.2), "OL": (4.3, 5.7), "DL": (4.0, 5.5)}
_THREE_CONE = {None: (6.2, 8.7), "OL": (7.0, 9.2), "DL": (6.7, 9.0)}
# Plausible range of each measurement per position group (None: every other group).
_RANGES: dict[str, dict[str | None, tuple[float, float]]] = {
    "height_in": {None: (64, 84)},
    "weight_lb": _WEIGHT,
    "forty": _FORTY,
    "bench": {None: (3, 50)},
    "vertical": {None: (17, 48)},
    "broad": {None: (80, 150)},
    "three_cone": _THREE_CONE,
    "shuttle": _SHUTTLE,
    "arm_in": {None: (27.0, 37.5)},
    "hand_in": {None: (7.0, 11.75)},
}

RULES: tuple[Rule, ...] = (
    Rule("rows_transformed", warn=1, fail=1, higher_is_worse=False, measure=_transformed_rows),
    # Every record staged from a file is transformed or quarantined, none lost between the steps.
    Rule("row_accounting", warn=0, fail=0, higher_is_worse=True, measure=_unaccounted_rows),
    Rule("quarantine_rate", warn=0.05, fail=0.5, higher_is_worse=True, measure=_quarantine_rate),
    Rule(
        "position_completeness",
        warn=0.95,
        fail=0.5,
        higher_is_worse=False,
        measure=_completeness(work_prospects, "position", _CLASS_SOURCES),
    ),
    Rule(
        "college_completeness",
        warn=0.95,
        fail=0.5,
        higher_is_worse=False,
        measure=_completeness(work_prospects, "college"),
    ),
    Rule(
        "draft_year_completeness",
        warn=0.99,
        fail=0.9,
        higher_is_worse=False,
        measure=_completeness(work_prospects, "draft_year", _CLASS_SOURCES),
    ),
    Rule(
        "height_completeness",
        warn=0.9,
        fail=0.5,
        higher_is_worse=False,
        measure=_completeness(work_measurements, "height_in", _COMBINE),
    ),
    Rule(
        "weight_completeness",
        warn=0.9,
        fail=0.5,
        higher_is_worse=False,
        measure=_completeness(work_measurements, "weight_lb", _COMBINE),
    ),
    Rule("source_id_uniqueness", warn=0.0, fail=0.02, higher_is_worse=True, measure=_duplicate_ids),
    Rule("height_range", warn=0.01, fail=0.1, higher_is_worse=True, measure=_range("height_in")),
    Rule("weight_range", warn=0.02, fail=0.2, higher_is_worse=True, measure=_range("weight_lb")),
    Rule("forty_range", warn=0.02, fail=0.2, higher_is_worse=True, measure=_range("forty")),
    Rule("bench_range", warn=0.02, fail=0.2, higher_is_worse=True, measure=_range("bench")),
    Rule("vertical_range", warn=0.02, fail=0.2, higher_is_worse=True, measure=_range("vertical")),
    Rule("broad_range", warn=0.02, fail=0.2, higher_is_worse=True, measure=_range("broad")),
    Rule("three_cone_range", warn=0.02, fail=0.2, higher_is_worse=True, measure=_range("three_cone")),
    Rule("shuttle_range", warn=0.02, fail=0.2, higher_is_worse=True, measure=_range("shuttle")),
    Rule("arm_range", warn=0.02, fail=0.2, higher_is_worse=True, measure=_range("arm_in")),
    Rule("hand_range", warn=0.02, fail=0.2, higher_is_worse=True, measure=_range("hand_in")),
    # The same person's combine weight from NFL.com and PFR within 3 lb.
    Rule("combine_weight_agreement", warn=0.03, fail=0.15, higher_is_worse=True, measure=_combine_weight_agreement),
    # A smaller export than last time is worth a look; whether it is wrong depends on what was exported
    # (one class after a backfill is fine), so it warns and never fails.
    Rule("volume_drop", warn=0.5, fail=None, higher_is_worse=True, measure=_volume_drop),
)


def run_rules(
    conn: Connection, extraction_id: str, sources: list[str], failed_sources: list[str]
) -> list[dict[str, Any]]:
    """Every rule's verdict per scope, plus one for the sources whose transformer failed."""
    metrics = []
    share_failed = len(failed_sources) / (len(sources) + len(failed_sources)) if failed_sources else 0.0
    metrics.append(
        {
            "rule": "transformer_failures",
            "scope": "all",
            "value": share_failed,
            "warn_threshold": 0.0,
            "fail_threshold": 0.999,
            "status": "fail" if share_failed >= 1 else ("warn" if share_failed > 0 else "pass"),
            "message": f"failed: {', '.join(failed_sources)}" if failed_sources else None,
        }
    )
    measured = Scope(conn, extraction_id, sources)
    for rule in RULES:
        for scope, value in sorted(rule.measure(measured).items()):
            metrics.append(
                {
                    "rule": rule.name,
                    "scope": scope,
                    "value": value,
                    "warn_threshold": rule.warn,
                    "fail_threshold": rule.fail,
                    "status": rule.judge(value),
                    "message": None,
                }
            )
    return metrics


def verdict(metrics: list[dict[str, Any]]) -> tuple[str, float]:
    """The seed's overall status (PASS / PASS_WITH_WARNINGS / FAIL) and the pass rate 0-100."""
    statuses = [m["status"] for m in metrics]
    score = round(100.0 * statuses.count("pass") / len(statuses), 1) if statuses else 100.0
    if "fail" in statuses:
        return "FAIL", score
    return ("PASS_WITH_WARNINGS" if "warn" in statuses else "PASS"), score


def collect_batches(
    conn: Connection, ctx: dict[str, Any], plan: list[Batch], results: list[dict[str, Any]]
) -> tuple[dict[tuple[str, int], dict[str, Any]], list[dict[str, Any]]]:
    """Each planned batch's outcome, from the chord's results or else the ledger; raises if some are missing."""
    expected = {b.key: b for b in plan}
    outcomes: dict[tuple[str, int], dict[str, Any]] = {}
    reported = []
    for result in results:
        record = (result or {}).get("records", [{}])[0] if isinstance(result, dict) else {}
        key = (record.get("transformer_type"), record.get("batch_no"))
        if key in expected and record.get("execution_id") == ctx["execution_id"]:
            if key not in outcomes or record.get("status") == TransformerStatus.SUCCESS:
                outcomes[key] = record  # type: ignore[index]
            reported.append(record)
    ledger = work.batch_ledger(conn, ctx["extraction_id"])
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
    ctx: dict[str, Any],
    outcomes: dict[tuple[str, int], dict[str, Any]],
    reported: list[dict[str, Any]],
    failed: list[str],
) -> dict[str, Any]:
    """The transform phase as a whole, summarised from its batches."""
    clock = Clock.since(reported)
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
    if ETLPhase.TRANSFORM in ctx.get("reused", []):
        record["details"]["reused_from"] = ctx["replay_of"]
    if ends:
        record["completed_at"] = max(ends)
        record["duration_seconds"] = round((datetime.fromisoformat(max(ends)) - clock.started_at).total_seconds(), 4)
    return record


def validate(
    settings: Settings,
    ctx: dict[str, Any],
    plan: list[dict[str, Any]],
    results: list[dict[str, Any]],
    worker: str | None,
    task_id: str | None,
) -> dict[str, Any]:
    """Collect the batches, run the rules, store the metrics. Raises ``BatchesPending`` to be retried."""
    carried = next((r["run"] for r in results if isinstance(r, dict) and r.get("run")), new_run())
    if carried["halted"]:
        return skipped(ctx, ETLPhase.VALIDATE, carried, worker, task_id)
    clock = Clock()
    batches = [Batch.from_dict(b) for b in plan]
    with transaction(settings.database_url) as conn:
        work.analyze(conn, work.TRANSFORMED)
        missing_error: str | None = None
        try:
            outcomes, reported = collect_batches(conn, ctx, batches, results)
        except BatchesPending as exc:
            if utcnow() < datetime.fromisoformat(ctx["deadline"]):
                raise
            outcomes, reported, missing_error = {}, [], str(exc)
        failed = sorted({key[0] for key, o in outcomes.items() if o.get("status") != TransformerStatus.SUCCESS})
        run = {**new_run(), "failed_sources": failed}
        records = [transform_phase_record(ctx, outcomes, reported, failed)]
        if missing_error:
            records = []
            run = halt(run, f"transform did not finish before the deadline: {missing_error}")
            record = phase_record(
                ctx, ETLPhase.VALIDATE, PhaseStatus.FAILED, clock, worker, {}, run["halt_reason"], task_id
            )
            return {"run": run, "records": [record]}
        ok = sources_ok(ctx, run)
        metrics = run_rules(conn, ctx["extraction_id"], ok, failed)
        quality.store_metrics(conn, ctx["execution_id"], ctx["extraction_id"], metrics)
    status, score = verdict(metrics)
    run["quality_score"] = score
    details: dict[str, Any] = {
        "overall_status": status,
        "quality_score": score,
        "rules_failed": [f"{m['rule']}[{m['scope']}]" for m in metrics if m["status"] == "fail"],
        "rules_warned": [f"{m['rule']}[{m['scope']}]" for m in metrics if m["status"] == "warn"],
        "batches": len(outcomes),
    }
    if status == "FAIL":
        error = f"data quality FAIL: {', '.join(details['rules_failed'])}"
        run = halt(run, error)
        records.append(phase_record(ctx, ETLPhase.VALIDATE, PhaseStatus.FAILED, clock, worker, details, error, task_id))
    else:
        records.append(
            phase_record(ctx, ETLPhase.VALIDATE, PhaseStatus.SUCCESS, clock, worker, details, task_id=task_id)
        )
    return {"run": run, "records": records}
