"""Where a stalled execution goes on: the first phase not done, only the batches not transformed."""

from __future__ import annotations

from etl_worker.models import ETLExecution, PhaseExecution, TransformerExecution
from etl_worker.ops.resume import resume_point
from etl_worker.phases.results import Batch

PLAN = [Batch("pff", 0, 1, 10), Batch("pff", 1, 11, 20), Batch("cfr", 0, 1, 10)]


def _execution(*phases: tuple[str, str], details: dict | None = None, failed_batches=()) -> ETLExecution:  # type: ignore[no-untyped-def]
    return ETLExecution(
        "e",
        "x",
        phases=[PhaseExecution(p, "x", status=s, details=(details or {}).get(p, {})) for p, s in phases],
        transformers=[TransformerExecution(s, "x", status="failed", batch_no=n) for s, n in failed_batches],
    )


def test_lost_in_transform_goes_on_with_the_batches_the_ledger_lacks() -> None:
    start, rerun, run = resume_point(_execution(("extract", "success")), PLAN, {("pff", 0)})
    assert start == "transform"
    assert [b.key for b in rerun] == [("pff", 1), ("cfr", 0)]
    assert run.halted is False


def test_a_batch_that_failed_for_good_is_not_run_again() -> None:
    execution = _execution(("extract", "success"), failed_batches=[("cfr", 0)])
    start, rerun, _ = resume_point(execution, PLAN, {("pff", 0), ("pff", 1)})
    assert (start, rerun) == ("validate", [])


def test_lost_after_validate_goes_on_at_merge_with_what_validate_handed_on() -> None:
    execution = _execution(
        ("extract", "success"),
        ("transform", "success"),
        ("validate", "success"),
        details={"transform": {"failed_sources": ["cfr"]}, "validate": {"quality_score": 97.5}},
    )
    start, rerun, run = resume_point(execution, PLAN, {b.key for b in PLAN})
    assert (start, rerun) == ("merge", [])
    assert run.failed_sources == ("cfr",) and run.quality_score == 97.5


def test_lost_after_load_goes_on_at_publish_with_the_totals() -> None:
    phases = [(p, "success") for p in ("extract", "transform", "validate", "merge", "load")]
    execution = _execution(*phases, details={"load": {"loaded": {"prospects": 52}}})
    start, _, run = resume_point(execution, PLAN, {b.key for b in PLAN})
    assert start == "publish" and run.totals == {"prospects": 52}


def test_a_halted_run_goes_on_after_its_last_record_so_the_rest_skip() -> None:
    execution = _execution(("extract", "success"), ("transform", "success"), ("validate", "failed"))
    execution.phases[-1].error_message = "quality below threshold"
    start, rerun, run = resume_point(execution, PLAN, {b.key for b in PLAN})
    assert (start, rerun) == ("merge", [])
    assert run.halted is True and "validate failed: quality below threshold" in (run.halt_reason or "")
