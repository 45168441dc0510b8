"""The alert rules on a finished execution (the two figures read from PostgreSQL replaced by fakes)."""

from __future__ import annotations

from typing import Any

import pytest

from etl_worker.ops import alerts
from etl_worker.ops.alerts import evaluate, p95
from etl_worker.settings import Alerting

RULES = Alerting(min_quality=80.0, volume_drop=0.5, slow_window=20, slow_min_runs=5)


def _execution(**changed: Any) -> dict[str, Any]:
    return {
        "execution_id": "e",
        "extraction_id": "x",
        "status": "success",
        "quality_score": 95.0,
        "error_summary": None,
        "transformer_types": ["nfl", "pff"],
        "duration_seconds": 2.0,
        **changed,
    }


def _raised(
    monkeypatch: pytest.MonkeyPatch, execution: dict[str, Any], drops: dict[str, float] | None = None, recent=()
) -> dict[tuple[str, str], alerts.Alert]:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(alerts.quality, "volume_drop", lambda conn, x, sources: drops or {})
    monkeypatch.setattr(alerts.store, "recent_durations", lambda conn, e, window: list(recent))
    return {(a.rule, a.scope): a for a in evaluate(None, RULES, execution)}  # type: ignore[arg-type]


def test_p95_never_exceeds_the_largest_value_and_takes_one_value_as_is():
    assert p95([1.0]) == 1.0
    assert p95([1.0, 1.0, 1.0, 1.0, 10.0]) <= 10.0
    assert p95([float(i) for i in range(1, 101)]) == pytest.approx(95.05)


def test_a_clean_run_raises_nothing(monkeypatch):  # type: ignore[no-untyped-def]
    assert _raised(monkeypatch, _execution(), {"nfl": 0.5}, [2.0] * 10) == {}


def test_a_failed_run_is_critical_and_a_partial_one_a_warning(monkeypatch):  # type: ignore[no-untyped-def]
    failed = _raised(monkeypatch, _execution(status="failed", error_summary="load failed: x"))
    assert failed[("run_failed", "all")].severity == "critical"
    assert "load failed: x" in failed[("run_failed", "all")].message
    partial = _raised(monkeypatch, _execution(status="partial_success", error_summary="transformer(s) failed: pff"))
    assert list(partial) == [("partial_success", "all")] and partial[("partial_success", "all")].severity == "warning"


def test_a_quality_score_under_the_minimum_warns_and_one_at_it_does_not(monkeypatch):  # type: ignore[no-untyped-def]
    low = _raised(monkeypatch, _execution(quality_score=79.9))
    assert low[("low_quality", "all")].details == {"quality_score": 79.9}
    assert _raised(monkeypatch, _execution(quality_score=80.0)) == {}
    assert _raised(monkeypatch, _execution(quality_score=None)) == {}


def test_a_source_that_staged_much_less_than_last_time_warns_by_source(monkeypatch):  # type: ignore[no-untyped-def]
    raised = _raised(monkeypatch, _execution(), {"nfl": 0.51, "pff": 0.5})
    assert list(raised) == [("volume_drop", "nfl")]
    assert "51% fewer rows" in raised[("volume_drop", "nfl")].message


def test_a_run_slower_than_the_p95_of_recent_runs_warns_once_there_are_enough_of_them(monkeypatch):  # type: ignore[no-untyped-def]
    assert _raised(monkeypatch, _execution(duration_seconds=9.0), recent=[2.0] * 4) == {}  # too few to compare
    slow = _raised(monkeypatch, _execution(duration_seconds=9.0), recent=[2.0] * 5)
    assert slow[("slow_run", "all")].details == {"duration": 9.0, "p95": 2.0}
    assert _raised(monkeypatch, _execution(duration_seconds=2.0), recent=[2.0] * 5) == {}  # at the p95 is not over it
