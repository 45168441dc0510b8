"""What phases hand each other and the tracking records they return (all JSON-safe dicts).

Every task returns ``{"run": <carry>, "records": [...]}``: ``records`` are the phase and transformer
records the listener writes to PostgreSQL; ``run`` is what later phases need to know (halted or not,
failed sources, totals, quality score). A halted run carries on as ``skipped`` phases to the end of the
chain, so the last phase always records the outcome.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from etl_worker.models import ETLStatus, PhaseStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Batch:
    """A key range of one source's staging rows: the unit of the transform fan-out."""

    source: str
    batch_no: int
    row_lo: int
    row_hi: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.source, self.batch_no)

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "batch_no": self.batch_no, "row_lo": self.row_lo, "row_hi": self.row_hi}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Batch:
        return cls(data["source"], int(data["batch_no"]), int(data["row_lo"]), int(data["row_hi"]))


def plan_batches(counts: dict[str, tuple[int, int, int]], batch_size: int) -> list[Batch]:
    """Cut each source's staged row-number range into batches of at most ``batch_size`` rows."""
    batches = []
    for source in sorted(counts):
        count, low, high = counts[source]
        if count == 0:
            continue
        for batch_no, row_lo in enumerate(range(low, high + 1, batch_size)):
            batches.append(Batch(source, batch_no, row_lo, min(row_lo + batch_size - 1, high)))
    return batches


MAX_MERGE_PARTS = 128


def plan_merge_parts(staged_rows: int, batch_size: int) -> int:
    """How many parallel parts the merge of ``staged_rows`` rows is cut into: one per two transform
    batches (resolving a row costs about as much as transforming it, so a part takes about as long as
    two batches). A big run keeps many workers busy; a small one is not cut into tasks that cost more
    than they resolve."""
    return max(1, min(MAX_MERGE_PARTS, -(-staged_rows // (2 * batch_size))))


def merge_parts(ctx: dict[str, Any]) -> int:
    """The merge parts planned for a run (4 for a run planned before the count was recorded)."""
    return int(ctx.get("merge_parts", 4))


def new_run() -> dict[str, Any]:
    return {"halted": False, "halt_reason": None, "failed_sources": [], "quality_score": None, "totals": {}}


def halt(run: dict[str, Any], reason: str) -> dict[str, Any]:
    return {**run, "halted": True, "halt_reason": run.get("halt_reason") or reason}


class Clock:
    """Start and end times of one phase or batch."""

    def __init__(self) -> None:
        self.started_at = utcnow()

    @classmethod
    def since(cls, results: Iterable[dict[str, Any]]) -> Clock:
        """A phase made of parallel tasks: started when the first of their ``results`` started (now if
        none recorded a start)."""
        clock = cls()
        starts = [r["started_at"] for r in results if r.get("started_at")]
        if starts:
            clock.started_at = datetime.fromisoformat(min(starts))
        return clock

    def stamp(self) -> dict[str, Any]:
        completed = utcnow()
        return {
            "started_at": self.started_at.isoformat(),
            "completed_at": completed.isoformat(),
            "duration_seconds": round((completed - self.started_at).total_seconds(), 4),
        }


def phase_record(
    ctx: dict[str, Any],
    phase: str,
    status: str,
    clock: Clock,
    worker: str | None,
    details: dict[str, Any] | None = None,
    error: str | None = None,
    task_id: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": "phase",
        "execution_id": ctx["execution_id"],
        "extraction_id": ctx["extraction_id"],
        "phase": phase,
        "status": status,
        **clock.stamp(),
        "hostname": worker,
        "task_id": task_id,
        "details": details or {},
        "error_message": error,
    }


def carried(results: list[Any]) -> dict[str, Any]:
    """The run that a chord's header tasks carried on (a halted run halts them all alike)."""
    return next((r["run"] for r in results if isinstance(r, dict) and r.get("run")), new_run())


def skipped(
    ctx: dict[str, Any], phase: str, run: dict[str, Any], worker: str | None, task_id: str | None
) -> dict[str, Any]:
    """The outcome of a phase that did not run because an earlier one halted the run."""
    record = phase_record(ctx, phase, PhaseStatus.SKIPPED, Clock(), worker, task_id=task_id)
    return {"run": run, "records": [record]}


def overall_status(run: dict[str, Any], publish_failed: bool = False) -> tuple[str, str | None]:
    """The seed's rules: halted -> failed; a failed source or failed publish -> partial_success."""
    if run["halted"]:
        return ETLStatus.FAILED, run["halt_reason"]
    problems = []
    if run["failed_sources"]:
        problems.append(f"transformer(s) failed: {', '.join(sorted(run['failed_sources']))}")
    if publish_failed:
        problems.append("every analytics view refresh failed")
    if problems:
        return ETLStatus.PARTIAL_SUCCESS, "; ".join(problems)
    return ETLStatus.SUCCESS, None


def sources_ok(ctx: dict[str, Any], run: dict[str, Any]) -> list[str]:
    failed: Iterable[str] = run["failed_sources"]
    return sorted(set(ctx["sources"]) - set(failed))
