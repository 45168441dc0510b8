"""What phases hand each other: typed here, JSON-safe dicts only at the task boundary (``as_dict`` and
``from_dict``, as Celery's JSON serializer needs).

- ``RunContext``: what every task of one execution knows, fixed when the run is planned.
- ``Run``: what later phases need to know (halted or not, failed sources, totals, quality score).
- ``Outcome``: what a phase or a transform batch returns, its ``Run`` and its ``records``, the phase and
  transformer rows the listener writes to PostgreSQL (kept as the rows they are).
- ``PartResult``: what one task of a phase's fan-out (a merge part, a view refresh) hands its phase.

A halted run carries on as ``skipped`` phases to the end of the chain, so the last phase always records
the outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class RunContext:
    """What every task of one execution knows about its run; fixed when the run is planned."""

    execution_id: str
    extraction_id: str
    sources: tuple[str, ...]
    deadline: datetime
    merged_by: str  # the execution whose merge the load commits (a replay from load reuses one)
    merge_parts: int = 4  # a run planned before the count was recorded had 4
    replay_of: str | None = None
    adapters: Mapping[str, str] = field(default_factory=dict)  # source -> "module:Class" plug-ins
    rules: tuple[str, ...] | None = None  # rule names or paths; None: the built-in rules
    reused: tuple[str, ...] = ()  # the phases a replay reuses

    def as_dict(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "extraction_id": self.extraction_id,
            "sources": list(self.sources),
            "deadline": self.deadline.isoformat(),
            "merged_by": self.merged_by,
            "merge_parts": self.merge_parts,
            "replay_of": self.replay_of,
            "adapters": dict(self.adapters),
            "rules": None if self.rules is None else list(self.rules),
            "reused": list(self.reused),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunContext:
        rules = data.get("rules")
        return cls(
            execution_id=data["execution_id"],
            extraction_id=data["extraction_id"],
            sources=tuple(data["sources"]),
            deadline=datetime.fromisoformat(data["deadline"]),
            merged_by=data.get("merged_by") or data["execution_id"],
            merge_parts=int(data.get("merge_parts", 4)),
            replay_of=data.get("replay_of"),
            adapters=dict(data.get("adapters") or {}),
            rules=None if rules is None else tuple(rules),
            reused=tuple(data.get("reused") or ()),
        )


@dataclass(frozen=True)
class Run:
    """What a run's phases hand on to the ones after them."""

    halted: bool = False
    halt_reason: str | None = None
    failed_sources: tuple[str, ...] = ()
    quality_score: float | None = None
    totals: Mapping[str, int] = field(default_factory=dict)

    def halt(self, reason: str) -> Run:
        """The run halted (by its first reason: a later phase's is only a consequence)."""
        return replace(self, halted=True, halt_reason=self.halt_reason or reason)

    def sources_ok(self, ctx: RunContext) -> list[str]:
        """The run's sources that did not fail."""
        return sorted(set(ctx.sources) - set(self.failed_sources))

    def as_dict(self) -> dict[str, Any]:
        return {
            "halted": self.halted,
            "halt_reason": self.halt_reason,
            "failed_sources": list(self.failed_sources),
            "quality_score": self.quality_score,
            "totals": dict(self.totals),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        return cls(
            halted=bool(data.get("halted")),
            halt_reason=data.get("halt_reason"),
            failed_sources=tuple(data.get("failed_sources") or ()),
            quality_score=data.get("quality_score"),
            totals=dict(data.get("totals") or {}),
        )


@dataclass(frozen=True)
class Outcome:
    """What a phase or a transform batch returns: the run it hands on and its tracking records."""

    run: Run
    records: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.run.as_dict(), "records": self.records}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outcome:
        return cls(Run.from_dict(data.get("run") or {}), list(data.get("records") or []))


@dataclass(frozen=True)
class PartResult:
    """What one task of a phase's fan-out (merge part ``3``, view ``position_rankings``) hands its phase:
    its figures, or the error that stopped it (it never raises into the chord)."""

    run: Run
    part: int | str
    error: str | None = None
    started_at: str | None = None
    figures: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.as_dict(),
            "part": self.part,
            "error": self.error,
            "started_at": self.started_at,
            "figures": dict(self.figures),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartResult:
        return cls(
            Run.from_dict(data.get("run") or {}),
            data["part"],
            data.get("error"),
            data.get("started_at"),
            dict(data.get("figures") or {}),
        )


class Clock:
    """Start and end times of one phase or batch."""

    def __init__(self) -> None:
        self.started_at = utcnow()

    @classmethod
    def since(cls, starts: Iterable[str | None]) -> Clock:
        """A phase made of parallel tasks: started when the first of them started (``starts``, ISO
        times; now if none recorded a start)."""
        clock = cls()
        recorded = [s for s in starts if s]
        if recorded:
            clock.started_at = datetime.fromisoformat(min(recorded))
        return clock

    def stamp(self) -> dict[str, Any]:
        completed = utcnow()
        return {
            "started_at": self.started_at.isoformat(),
            "completed_at": completed.isoformat(),
            "duration_seconds": round((completed - self.started_at).total_seconds(), 4),
        }


def phase_record(
    ctx: RunContext,
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
        "execution_id": ctx.execution_id,
        "extraction_id": ctx.extraction_id,
        "phase": phase,
        "status": status,
        **clock.stamp(),
        "hostname": worker,
        "task_id": task_id,
        "details": details or {},
        "error_message": error,
    }


def skipped(ctx: RunContext, phase: str, run: Run, worker: str | None, task_id: str | None) -> Outcome:
    """The outcome of a phase that did not run because an earlier one halted the run."""
    return Outcome(run, [phase_record(ctx, phase, PhaseStatus.SKIPPED, Clock(), worker, task_id=task_id)])


def overall_status(run: Run, publish_failed: bool = False) -> tuple[str, str | None]:
    """The seed's rules: halted -> failed; a failed source or failed publish -> partial_success."""
    if run.halted:
        return ETLStatus.FAILED, run.halt_reason
    problems = []
    if run.failed_sources:
        problems.append(f"transformer(s) failed: {', '.join(sorted(run.failed_sources))}")
    if publish_failed:
        problems.append("every analytics view refresh failed")
    if problems:
        return ETLStatus.PARTIAL_SUCCESS, "; ".join(problems)
    return ETLStatus.SUCCESS, None
