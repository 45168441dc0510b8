"""How serial a run is, and what more workers could make of it, from its recorded task timeline.

Every delivery of a task is in ``task_deliveries`` (when it started, when it finished, its task name).
The canvas alternates one-task steps with fan-outs:

    extract -> transform x N -> validate -> merge_part x P -> merge -> load -> refresh_view x V -> publish

The serial time is the time of the one-task steps: however many workers there are, only one task of
the run can be running then. The projection list-schedules the measured tasks on N workers, in the
order they started, with a barrier after each fan-out (as the canvas has), and divides the makespan
on one worker by the makespan on N. It leaves out what more workers would contend for (PostgreSQL's
cores and locks, Redis): an upper bound, not a promise.
"""

from __future__ import annotations

import heapq
from typing import Any

import sqlalchemy as sa

# (task name, whether the canvas runs it as a fan-out), in canvas order.
STAGES = (
    ("etl.extract", False),
    ("etl.transform", True),
    ("etl.validate", False),
    ("etl.merge_part", True),
    ("etl.merge", False),
    ("etl.load", False),
    ("etl.refresh_view", True),
    ("etl.publish", False),
)


def task_durations(database_url: str, execution_id: str) -> dict[str, list[float]]:
    """Per task name, the seconds of each task's last delivery, in the order they started."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT DISTINCT ON (task_id) task_name, last_at, "
                    "EXTRACT(EPOCH FROM finished_at - last_at) AS seconds FROM task_deliveries "
                    "WHERE execution_id = :e AND finished_at IS NOT NULL ORDER BY task_id, retry DESC"
                ),
                {"e": execution_id},
            ).all()
    finally:
        engine.dispose()
    durations: dict[str, list[float]] = {}
    for name, _, seconds in sorted(rows, key=lambda r: r.last_at):
        durations.setdefault(name, []).append(float(seconds))
    return durations


def list_schedule(durations: list[float], workers: int) -> float:
    """The makespan of these tasks, each given in turn to the worker that is free first."""
    free = [0.0] * workers
    for seconds in durations:
        heapq.heappush(free, heapq.heappop(free) + seconds)
    return max(free, default=0.0)


def makespan(durations: dict[str, list[float]], workers: int) -> float:
    return sum(
        list_schedule(durations.get(name, []), workers) if fan_out else sum(durations.get(name, []))
        for name, fan_out in STAGES
    )


def serial_seconds(durations: dict[str, list[float]]) -> float:
    return sum(sum(durations.get(name, [])) for name, fan_out in STAGES if not fan_out)


def analyse(
    database_url: str, execution_id: str, seconds: float, workers: tuple[int, ...] = (1, 2, 8, 32)
) -> dict[str, Any]:
    """The serial time and its share of the run's ``seconds``; the projected makespan and speed-up on
    each number of ``workers``."""
    durations = task_durations(database_url, execution_id)
    spans = {n: makespan(durations, n) for n in workers}
    serial = serial_seconds(durations)
    return {
        "serial_seconds": round(serial, 2),
        "serial_share": round(serial / seconds, 3) if seconds else None,
        "tasks": {name: len(durations.get(name, [])) for name, _ in STAGES},
        "projected_seconds": {str(n): round(s, 2) for n, s in spans.items()},
        "projected_speedup": {str(n): round(spans[workers[0]] / s, 2) if s else None for n, s in spans.items()},
    }
