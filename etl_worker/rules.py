"""Data-quality rules: the built-in catalogue, the rules installed packages register, and the validator
that applies them to an extraction's work rows.

A rule is a ``Rule``: a measure of a ``Scope`` per scope key (a source, a position group, ``all``) with
warn and fail thresholds. A package adds rules by declaring ``Rule`` objects under the entry-point group
``etl_worker.rules``; a run names the rules it applies in its context (``None``: every rule, built-in
or registered), and each worker loads them from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from etl_worker import plugins
from etl_worker.db import quality, work
from etl_worker.db.schema import work_measurements, work_prospects
from etl_worker.errors import ConfigurationError
from etl_worker.sources import Source, get_source

ENTRY_POINTS = plugins.RULE_GROUP


@dataclass
class Scope:
    """What the rules measure (an extraction's work rows of some sources), with what several rules read
    computed once: the volumes per source and every range check in one scan of the measurements."""

    conn: Connection
    extraction_id: str
    sources: list[str]
    shared: dict[str, tuple[int, int]] | None = None  # what validate's ``work.mark_shared_ids`` returned
    _computed: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self._computed:
            self._computed[key] = compute()
        return self._computed[key]

    def volumes(self) -> dict[str, dict[str, int]]:
        return self.once("volumes", lambda: quality.source_volumes(self.conn, self.extraction_id, self.sources))

    def shared_ids(self) -> dict[str, tuple[int, int]]:
        """Per source: records whose source id another record carries, and records with an id (validate
        marks them for the merge before the rules run; marked here when it has not)."""
        if self.shared is None:
            self.shared = work.mark_shared_ids(self.conn, self.extraction_id, self.sources)
        return self.shared


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


def _class_source(source: Source) -> bool:
    """Its records name a draft class (every source but the college seasons)."""
    return not source.seasons


def _combine_source(source: Source) -> bool:
    return source.measures


def _completeness(table: sa.Table, column: str, only: Callable[[Source], bool] | None = None) -> Measure:
    def measure(scope: Scope) -> dict[str, float]:
        wanted = [s for s in scope.sources if only is None or only(get_source(s))]
        if not wanted:
            return {}
        return scope.once(
            f"completeness.{table.name}.{column}.{only.__name__ if only else 'all'}",
            lambda: quality.completeness(scope.conn, scope.extraction_id, wanted, table, column),
        )

    return measure


def _error_rate(scope: Scope) -> dict[str, float]:
    """The seed's ``error_rate``: records quarantined over records processed, every source together."""
    volumes = scope.volumes().values()
    processed = sum(v["processed"] for v in volumes)
    return {"all": sum(v["quarantined"] for v in volumes) / processed if processed else 0.0}


_IDENTITY_FIELDS = ("position", "college", "draft_year")


def _overall_completeness(scope: Scope) -> dict[str, float]:
    """The seed's ``completeness``: the mean share of the identity fields filled, over every source."""
    shares = [
        share
        for column in _IDENTITY_FIELDS
        for share in _completeness(work_prospects, column, None if column == "college" else _class_source)(
            scope
        ).values()
    ]
    return {"all": sum(shares) / len(shares)} if shares else {}


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
    """Per source with ids: the share of records whose source id another record of the extraction carries."""
    return {source: shared / total for source, (shared, total) in scope.shared_ids().items() if total}


def _combine_weight_agreement(scope: Scope) -> dict[str, float]:
    if not {"nfl", "pfr"} <= set(scope.sources):
        return {}
    share = quality.weight_disagreement(scope.conn, scope.extraction_id, "nfl", "pfr", tolerance=3.0)
    return {} if share is None else {"nfl~pfr": share}


def _volume_drop(scope: Scope) -> dict[str, float]:
    return quality.volume_drop(scope.conn, scope.extraction_id, scope.sources)


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


def _completeness_rule(
    column: str,
    table: sa.Table,
    warn: float,
    fail: float,
    only: Callable[[Source], bool] | None = None,
    name: str | None = None,
) -> Rule:
    """``{name}_completeness``: the share of ``column`` filled, per source (of ``only``, if given)."""
    return Rule(
        f"{name or column}_completeness", warn, fail, higher_is_worse=False, measure=_completeness(table, column, only)
    )


RULES: tuple[Rule, ...] = (
    Rule("rows_transformed", warn=1, fail=1, higher_is_worse=False, measure=_transformed_rows),
    # Every record staged from a file is transformed or quarantined, none lost between the steps.
    Rule("row_accounting", warn=0, fail=0, higher_is_worse=True, measure=_unaccounted_rows),
    Rule("quarantine_rate", warn=0.05, fail=0.5, higher_is_worse=True, measure=_quarantine_rate),
    _completeness_rule("position", work_prospects, 0.95, 0.5, _class_source),
    _completeness_rule("college", work_prospects, 0.95, 0.5),
    _completeness_rule("draft_year", work_prospects, 0.99, 0.9, _class_source),
    _completeness_rule("height_in", work_measurements, 0.9, 0.5, _combine_source, name="height"),
    _completeness_rule("weight_lb", work_measurements, 0.9, 0.5, _combine_source, name="weight"),
    # The seed's two overall figures, beside the finer rules above.
    Rule("completeness", warn=0.95, fail=0.5, higher_is_worse=False, measure=_overall_completeness),
    Rule("error_rate", warn=0.05, fail=0.5, higher_is_worse=True, measure=_error_rate),
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
    conn: Connection,
    extraction_id: str,
    sources: list[str],
    failed_sources: list[str],
    rules: Sequence[Rule] = RULES,
    shared_ids: dict[str, tuple[int, int]] | None = None,
) -> list[dict[str, Any]]:
    """Every rule's verdict per scope, plus one for the sources whose transformer failed (``shared_ids``:
    what ``work.mark_shared_ids`` returned, when the caller marked them)."""
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
    measured = Scope(conn, extraction_id, sources, shared_ids)
    for rule in rules:
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


def _builtin(name: str) -> Rule | None:
    return next((r for r in RULES if r.name == name), None)


def _registered() -> dict[str, str]:
    return plugins.registered(ENTRY_POINTS)


def load_rules(names: Sequence[str] | None) -> list[Rule]:
    """The rules a run applies: each a built-in rule's name, a registered rule's name or a ``module:RULE``
    path; ``None``: every built-in and registered rule. Raises ``ConfigurationError`` for one that is unknown."""
    if names is None:
        names = [r.name for r in RULES] + sorted(_registered())
    registered = _registered()
    rules = []
    for name in names:
        rule = _builtin(name)
        if rule is None:
            path = registered.get(name, name if ":" in name else None)
            if path is None:
                raise ConfigurationError(
                    f"unknown data-quality rule {name!r}: not built in, not registered under {ENTRY_POINTS}"
                )
            rule = plugins.load(path, "data-quality rule")
            if not isinstance(rule, Rule):
                raise ConfigurationError(f"data-quality rule {path} is not an etl_worker.rules.Rule")
        rules.append(rule)
    return rules


class DataQualityValidator:
    """The seed's validator: the rules a run applies (default: every built-in and registered rule).

    ``rules`` holds names, ``module:RULE`` paths or ``Rule`` objects; a ``Rule`` that is neither built in
    nor registered under ``etl_worker.rules`` must be given by path, since workers load rules by name.
    """

    def __init__(self, rules: Iterable[Rule | str] | None = None) -> None:
        self.names: list[str] | None = None if rules is None else [self._name(r) for r in rules]
        self.rules = load_rules(self.names)  # checked here, before any run

    @staticmethod
    def _name(rule: Rule | str) -> str:
        if isinstance(rule, str):
            return rule
        if _builtin(rule.name) is rule:
            return rule.name
        for name, path in _registered().items():
            if plugins.load(path, "data-quality rule") is rule:
                return name
        raise ConfigurationError(
            f"data-quality rule {rule.name!r} is neither built in nor registered under {ENTRY_POINTS}: "
            "register it, or pass its import path (module:RULE)"
        )

    def run_all_validations(
        self, conn: Connection, extraction_id: str, sources: list[str], failed_sources: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Apply the rules to an extraction's work rows: the seed's report (overall status, score, metrics)."""
        metrics = run_rules(conn, extraction_id, sources, list(failed_sources), self.rules)
        status, score = verdict(metrics)
        return {"overall_status": status, "quality_score": score, "metrics": metrics}
