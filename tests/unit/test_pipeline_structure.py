"""The canvas is built without a broker; its structure is what the design says."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from celery.canvas import _chain, chord

from etl_worker.db.canonical import VIEWS
from etl_worker.phases.results import (
    MAX_MERGE_PARTS,
    Batch,
    Outcome,
    PartResult,
    Run,
    RunContext,
    overall_status,
    plan_batches,
    plan_merge_parts,
)
from etl_worker.pipeline import build_pipeline
from etl_worker.taskids import execution_task_ids, task_id

CTX = RunContext("e-1", "x-1", ("nfl", "pff"), datetime(2030, 1, 1, tzinfo=UTC), "e-1", merge_parts=3)


def test_batches_cover_each_source_range_without_gaps_or_overlap():
    plan = plan_batches({"nfl": (25, 1, 25), "pff": (10, 1, 10), "cfr": (0, 0, 0)}, 10)
    assert [(b.source, b.batch_no, b.row_lo, b.row_hi) for b in plan] == [
        ("nfl", 0, 1, 10),
        ("nfl", 1, 11, 20),
        ("nfl", 2, 21, 25),
        ("pff", 0, 1, 10),
    ]


def test_pipeline_is_extract_then_chord_of_every_batch_then_chord_of_merge_parts_then_load_publish():
    plan = plan_batches({"nfl": (25, 1, 25), "pff": (10, 1, 10)}, 10)
    canvas = build_pipeline(CTX, plan)
    assert isinstance(canvas, _chain)
    steps = canvas.tasks
    assert steps[0].task == "etl.extract" and steps[0].immutable
    assert isinstance(steps[1], chord)
    header = list(steps[1].tasks)
    assert [(h.task, h.kwargs["batch"]["source"], h.kwargs["batch"]["batch_no"]) for h in header] == [
        ("etl.transform", "nfl", 0),
        ("etl.transform", "nfl", 1),
        ("etl.transform", "nfl", 2),
        ("etl.transform", "pff", 0),
    ]
    assert steps[1].body.task == "etl.validate"
    assert steps[1].body.kwargs["plan"] == [b.as_dict() for b in plan]
    # Whole surname blocks are resolved in parallel parts, then summed by the merge phase.
    parts = list(steps[2].tasks)
    assert [(p.task, p.kwargs["part"]) for p in parts] == [("etl.merge_part", i) for i in range(3)]
    # Celery folds the steps after a chord into the chord's body: merge -> load ...
    body = steps[2].body.tasks
    assert [s.task for s in body] == ["etl.merge", "etl.load"]
    # ... then each analytics view refreshes in its own task, and publish sums them up -> alert.
    views = list(steps[3].tasks)
    assert [(v.task, v.kwargs["view"]) for v in views] == [("etl.refresh_view", view) for view in VIEWS]
    end = steps[3].body.tasks
    assert [s.task for s in end] == ["etl.publish", "etl.alert"]
    assert all(
        s.kwargs["ctx"] == CTX.as_dict() for s in [steps[0], *header, steps[1].body, *parts, *body, *views, end[0]]
    )
    assert end[-1].kwargs == {"execution_id": CTX.execution_id}


def test_a_replay_from_merge_hands_the_carried_run_to_every_merge_part():
    carried = Run(failed_sources=("nfl",), quality_score=90.0)
    canvas = build_pipeline(CTX, [Batch("nfl", 0, 1, 10)], start="merge", carried=carried)
    parts = list(canvas.tasks[0].tasks)
    assert all(Outcome.from_dict(p.kwargs["previous"]) == Outcome(carried) for p in parts)
    assert [s.task for s in canvas.tasks[0].body.tasks] == ["etl.merge", "etl.load"]
    assert [s.task for s in canvas.tasks[1].body.tasks] == ["etl.publish", "etl.alert"]


def test_a_replay_from_publish_hands_the_carried_run_to_every_view_refresh():
    carried = Run(quality_score=90.0, totals={"prospects": 52})
    canvas = build_pipeline(CTX, [Batch("nfl", 0, 1, 10)], start="publish", carried=carried)
    views = list(canvas.tasks[0].tasks)
    assert [v.kwargs["view"] for v in views] == list(VIEWS)
    assert all(Outcome.from_dict(v.kwargs["previous"]).run.totals == {"prospects": 52} for v in views)


def test_task_ids_are_stable_per_execution_so_a_second_enqueue_is_the_same_tasks():
    plan = [Batch("nfl", 0, 1, 10)]
    first, second = build_pipeline(CTX, plan), build_pipeline(CTX, plan)
    ids = lambda c: [  # noqa: E731
        c.tasks[0].id,
        *(h.id for h in c.tasks[1].tasks),
        c.tasks[1].body.id,
        *(p.id for p in c.tasks[2].tasks),
        *(s.id for s in c.tasks[2].body.tasks),
        *(v.id for v in c.tasks[3].tasks),
        *(s.id for s in c.tasks[3].body.tasks),
    ]
    assert ids(first) == ids(second)
    assert len(set(ids(first))) == 1 + 1 + 1 + 3 + 2 + 3 + 2
    assert task_id("e-1", "extract") != task_id("e-2", "extract")
    # Cancel and resume name every task of the canvas from what the execution keeps of it.
    kept = {"ctx": CTX.as_dict(), "plan": [b.as_dict() for b in plan]}
    assert set(ids(first)) == set(execution_task_ids("e-1", kept))


def test_the_merge_is_cut_into_parts_by_the_size_of_the_run():
    assert plan_merge_parts(40, 5000) == 1  # a tiny run: one task, no fan-out to pay for
    assert plan_merge_parts(77, 10) == 4  # a part per two transform batches
    assert plan_merge_parts(1_000_000, 5000) == 100  # enough to keep dozens of workers busy
    assert plan_merge_parts(50_000_000, 5000) == MAX_MERGE_PARTS


def test_overall_status_follows_the_seed_rules():
    run = Run(quality_score=90.0)
    assert overall_status(run) == ("success", None)
    assert overall_status(Run(failed_sources=("pff",)))[0] == "partial_success"
    assert overall_status(run, publish_failed=True)[0] == "partial_success"
    assert overall_status(run.halt("data quality FAIL")) == ("failed", "data quality FAIL")


def test_a_halted_run_keeps_its_first_reason():
    run = Run().halt("validate failed: data quality FAIL").halt("load refused: execution is failed")
    assert (run.halted, run.halt_reason) == (True, "validate failed: data quality FAIL")


def test_what_crosses_the_task_boundary_comes_back_as_it_went():
    ctx = RunContext(
        "e-1",
        "x-1",
        ("nfl", "pff"),
        datetime(2030, 1, 1, tzinfo=UTC),
        "e-0",
        merge_parts=7,
        replay_of="e-0",
        adapters={"pff": "plugins:PffV2"},
        rules=("completeness",),
        reused=("extract", "transform"),
    )
    run = Run(True, "merge failed: part 3", ("cfr",), 97.5, {"prospects": 52})
    part = PartResult(run, 3, None, "2030-01-01T00:00:00+00:00", {"counts": {"records_linked": 9}})
    for value in (ctx, run, Outcome(run, [{"kind": "phase", "phase": "merge"}]), part):
        wire = json.loads(json.dumps(value.as_dict()))  # what Celery's JSON serializer hands the next task
        assert type(value).from_dict(wire) == value


def test_a_context_kept_before_merge_parts_were_planned_has_the_four_it_ran_with():
    kept = {"execution_id": "e-1", "extraction_id": "x-1", "sources": ["nfl"], "deadline": "2030-01-01T00:00:00+00:00"}
    ctx = RunContext.from_dict(kept)
    assert (ctx.merge_parts, ctx.merged_by, ctx.rules, ctx.adapters) == (4, "e-1", None, {})
    assert len(execution_task_ids("e-1", {"ctx": kept, "plan": []})) == 6 + 3 + 4
