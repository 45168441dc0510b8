"""What an operator reads fits the terminal: 80 columns and 200, whole ids prefixes, statuses and numbers."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from etl_worker.models import ETLExecution, PhaseExecution, TransformerExecution
from etl_worker.terminal import batches_done, history_table, render_execution, summarize

X = "5e6f7a8b-0000-4000-8000-00000000abcd"
STARTED = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def _execution(n: int, status: str, error: str | None = None) -> ETLExecution:
    return ETLExecution(
        execution_id=f"1a2b3c{n:02d}-aaaa-4aaa-8aaa-000000000000",
        extraction_id=X,
        started_at=STARTED,
        duration_seconds=12345.678,
        overall_status=status,
        total_prospects_loaded=1_234_567,
        quality_score=97.3,
        error_summary=error,
        replay_of="9f9f9f9f-bbbb-4bbb-8bbb-000000000000" if n == 2 else None,
        replay_from="validate" if n == 2 else None,
    )


HISTORY = [
    _execution(1, "success"),
    _execution(2, "partial_success", "transformer(s) failed: pff; the export had a truncated row at the end"),
    _execution(3, "failed", "cancelled by operator"),
    _execution(4, "running"),
]


def _lines(width: int, draw) -> list[str]:  # type: ignore[no-untyped-def]
    console = Console(width=width, file=io.StringIO(), color_system=None, highlight=False)
    draw(console)
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def test_history_fits_80_columns_dropping_columns_not_cutting_ids_statuses_or_numbers():
    lines = _lines(80, lambda c: c.print(history_table(HISTORY, c.width)))
    assert max(map(len, lines)) <= 80
    text = "\n".join(lines)
    for e in HISTORY:
        row = next(line for line in lines if e.execution_id[:8] in line)
        assert e.overall_status in row.split()  # whole, never "succe…"
        assert "12345.7" in row and "97.3" in row and "2026-11-28 09:30" in row
    assert "replay of" not in text and "extraction" not in text  # the least useful columns went first
    assert "transformer(s)" in text  # the error is shortened, not dropped


def test_history_at_200_columns_shows_every_column_whole():
    lines = _lines(200, lambda c: c.print(history_table(HISTORY, c.width)))
    text = "\n".join(lines)
    assert max(map(len, lines)) <= 200
    for header in ("execution", "extraction", "replay of", "error", "quality"):
        assert header in text
    assert "5e6f7a8b" in text and "9f9f9f9f validate" in text
    assert "the export had a truncated row at the end" in text


def _full_run() -> ETLExecution:
    e = _execution(1, "partial_success", "transformer(s) failed: pff")
    details = {
        "staging_counts": {"cfr": 5427, "nfl": 19_990, "pff": 1200, "yahoo": 800},
        "batches": {"cfr": 17, "nfl": 20, "pff": 2, "yahoo": 1},
    }
    e.phases = [
        PhaseExecution("extract", X, duration_seconds=0.123, status="success", details=details, hostname="w1@scout"),
        PhaseExecution(
            "merge",
            X,
            duration_seconds=4.5,
            status="success",
            details={"records_linked": 27_000, "match_methods": {"new": 20_000, "source_id": 7000}},
            hostname="w2@scout-analytics-node-17.example.org",
        ),
        PhaseExecution("load", X, status="skipped", details={}),
    ]
    e.transformers = [
        TransformerExecution("nfl", X, status="success", records_processed=10, batch_no=0, hostname="w1@scout"),
        TransformerExecution("pff", X, status="failed", records_processed=5, batch_no=0, hostname="w2@scout"),
    ]
    return e


def test_status_fits_80_columns_with_details_as_key_value_pairs():
    lines = _lines(80, lambda c: render_execution(c, _full_run()))
    assert max(map(len, lines)) <= 80, "\n".join(lines)
    text = "\n".join(lines)
    assert "execution 1a2b3c01 of extraction 5e6f7a8b: partial_success" in text
    assert '{"' not in text  # no raw JSON
    assert "staging_counts: cfr=5427" in text
    rows = [line.split()[:3] for line in lines if line.split()[:1] in (["extract"], ["merge"], ["load"])]
    assert rows == [["extract", "success", "0.123"], ["merge", "success", "4.500"], ["load", "skipped"]]


def test_status_at_200_columns_shows_the_whole_summary():
    text = "\n".join(_lines(200, lambda c: render_execution(c, _full_run())))
    assert "staging_counts: cfr=5427 nfl=19990 pff=1200 yahoo=800; batches: cfr=17 nfl=20 pff=2 yahoo=1" in text
    assert "w2@scout-analytics-node-17.example.org" in text


def test_details_summary_is_short_and_flat():
    assert summarize({"loaded": {"prospects": 3, "grades": 0}, "note": "already loaded"}) == (
        "loaded: prospects=3 grades=0; note=already loaded"
    )
    assert summarize({"refreshed": ["a", "b"], "failed": {}, "score": 97.5, "x": None}) == (
        "refreshed=a,b; failed: -; score=97.5; x=-"
    )


def test_status_names_every_rule_that_warned_or_failed_whatever_the_width():
    e = _full_run()
    warned = ["completeness[nfl]", "weight_agreement[nfl,pfr]", "range_forty[pff]"]
    e.phases.insert(
        1,
        PhaseExecution(
            "validate", X, status="success", details={"batches": 40, "rules_failed": [], "rules_warned": warned}
        ),
    )
    lines = _lines(80, lambda c: render_execution(c, e))
    text = "\n".join(lines)
    assert max(map(len, lines)) <= 80, text
    assert "rules warned: completeness[nfl], weight_agreement[nfl,pfr], range_forty[pff]" in " ".join(
        line.strip() for line in lines
    )
    assert "rules failed" not in text


def test_the_progress_bar_says_planning_until_the_run_has_planned_its_batches():
    # Issue 24, item 7: the bar showed "0/None batches" until the plan was recorded.
    assert batches_done({"batches": 0, "planned": None}) == "planning"
    assert batches_done({"batches": 0, "planned": 0}) == "planning"
    assert batches_done({"batches": 12, "planned": 40}) == "12/40 batches"
