"""The ceiling: the same work with no Celery, no tracking and no data-quality rules, on two processes.

Parse -> COPY into the work tables (the transform batches split over a process pool), then the same
entity resolution, the same set-based load and the same view refresh, called as plain functions.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from typing import Any

from etl_worker.db.engine import dispose_all
from etl_worker.phases import extract, load, merge, publish, transform
from etl_worker.phases.results import Batch, new_run
from etl_worker.settings import Settings


def _transform(settings: Settings, ctx: dict[str, Any], batch: Batch) -> int:
    return int(transform.transform(settings, ctx, batch, "ceiling", None)["records_processed"])


def run_ceiling(settings: Settings, extraction_id: str, processes: int = 2) -> dict[str, Any]:
    phases: dict[str, float] = {}
    clock = time.perf_counter()
    execution_id = str(uuid.uuid4())
    started = extract.start_execution(settings, execution_id, extraction_id, None, "ceiling")
    extract.mark_started(settings, execution_id)
    assert started.ctx is not None, started.message
    ctx = started.ctx
    phases["extract"] = time.perf_counter() - clock

    mark = time.perf_counter()
    if processes == 1:  # in this process, where a profiler can see it
        rows = sum(_transform(settings, ctx, b) for b in started.plan)
    else:
        dispose_all()  # no connection crosses the fork
        with multiprocessing.get_context("fork").Pool(processes, initializer=dispose_all) as pool:
            jobs = [(settings, ctx, b) for b in started.plan]
            rows = sum(pool.starmap(_transform, jobs, chunksize=1))  # one batch at a time, as workers take them
    phases["transform"] = time.perf_counter() - mark

    outcome: dict[str, Any] = {"run": new_run(), "records": []}
    for name, phase in (("merge", merge.merge), ("load", load.load), ("publish", publish.publish)):
        mark = time.perf_counter()
        outcome = phase(settings, ctx, outcome, "ceiling", None)
        phases[name] = time.perf_counter() - mark
        assert outcome["records"][0]["status"] == "success", outcome["records"][0].get("error_message")
    seconds = time.perf_counter() - clock
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds, "phases": phases}
