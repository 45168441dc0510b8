"""The ceiling: the same work with no Celery, no tracking and no data-quality rules, on two processes.

Parse -> COPY into the work tables (the transform batches spread over a process pool), the same entity
resolution (its parts spread the same way), the same set-based load and the same view refresh, called
as plain functions. It shares the pipeline's per-row code, so pipeline / ceiling is the cost of the
orchestration (Celery, tracking, validation), not a bound on what the machine could do.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections.abc import Callable
from typing import Any

from etl_worker.db import work
from etl_worker.db.canonical import VIEWS
from etl_worker.db.engine import transaction
from etl_worker.phases import extract, load, merge, publish, transform
from etl_worker.phases.results import Batch, Run, RunContext
from etl_worker.settings import Settings


def _transform(settings: Settings, ctx: RunContext, batch: Batch) -> int:
    return int(transform.transform(settings, ctx, batch, "ceiling", None)["records_processed"])


def _spread(func: Callable[..., Any], jobs: list[tuple[Any, ...]], processes: int) -> list[Any]:
    """Run ``func`` over ``jobs`` one job at a time on ``processes`` processes (1: in this one)."""
    if processes == 1:  # where a profiler can see it
        return [func(*job) for job in jobs]
    # Spawned, not forked: this process has Celery's and the database pool's threads, and a fork taken
    # while one of them holds a lock leaves the child waiting on it for ever.
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        return pool.starmap(func, jobs, chunksize=1)


def run_ceiling(settings: Settings, extraction_id: str, processes: int = 2) -> dict[str, Any]:
    phases: dict[str, float] = {}
    clock = time.perf_counter()
    execution_id = str(uuid.uuid4())
    started = extract.start_execution(settings, execution_id, extraction_id, None, "ceiling")
    extract.mark_started(settings, started)
    assert started.ctx is not None, started.message
    ctx = started.ctx
    phases["extract"] = time.perf_counter() - clock

    mark = time.perf_counter()
    rows = sum(_spread(_transform, [(settings, ctx, b) for b in started.plan], processes))
    phases["transform"] = time.perf_counter() - mark

    mark = time.perf_counter()
    with transaction(settings.database_url) as conn:  # as validate does: the merge plans on fresh statistics
        work.analyze(conn, work.TRANSFORMED)
    parts = _spread(merge.merge_part, [(settings, ctx, Run(), i) for i in range(ctx.merge_parts)], processes)
    outcome = merge.merge(settings, ctx, parts, "ceiling", None)
    phases["merge"] = time.perf_counter() - mark

    assert outcome.records[0]["status"] == "success", outcome.records[0].get("error_message")
    mark = time.perf_counter()
    outcome = load.load(settings, ctx, outcome.run, "ceiling", None)
    phases["load"] = time.perf_counter() - mark
    assert outcome.records[0]["status"] == "success", outcome.records[0].get("error_message")
    mark = time.perf_counter()
    views = _spread(publish.refresh, [(settings, ctx, outcome.run, view) for view in VIEWS], processes)
    outcome = publish.publish(settings, ctx, views, "ceiling", None)
    phases["publish"] = time.perf_counter() - mark
    assert outcome.records[0]["status"] == "success", outcome.records[0].get("error_message")
    seconds = time.perf_counter() - clock
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds, "phases": phases}
