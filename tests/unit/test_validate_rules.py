from __future__ import annotations

from etl_worker.rules import RULES, Rule, verdict


def test_rule_thresholds_point_the_right_way():
    rate = Rule("r", warn=0.05, fail=0.5, higher_is_worse=True, measure=lambda *a: {})
    assert [rate.judge(v) for v in (0.0, 0.1, 0.9)] == ["pass", "warn", "fail"]
    completeness = Rule("c", warn=0.9, fail=0.5, higher_is_worse=False, measure=lambda *a: {})
    assert [completeness.judge(v) for v in (1.0, 0.7, 0.1)] == ["pass", "warn", "fail"]


def test_verdict_is_the_seed_overall_status_and_pass_rate():
    assert verdict([{"status": "pass"}] * 4) == ("PASS", 100.0)
    assert verdict([{"status": "pass"}] * 3 + [{"status": "warn"}]) == ("PASS_WITH_WARNINGS", 75.0)
    assert verdict([{"status": "pass"}, {"status": "fail"}]) == ("FAIL", 50.0)


def test_rule_names_are_unique():
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
