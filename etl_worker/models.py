"""The seed contract: enums and the execution records that every process reads from PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class TransformerType(StrEnum):
    """The built-in sources, by the seed's names (etl_worker.sources is where a source is defined; a
    plug-in source is named by its string; a unit test keeps the two lists equal)."""

    PFF = "pff"
    CFR = "cfr"
    NFL = "nfl"
    YAHOO = "yahoo"
    PFR = "pfr"
    ESPN = "espn"


class ETLPhase(StrEnum):
    """The phases of one execution, in order."""

    EXTRACT = "extract"
    TRANSFORM = "transform"
    VALIDATE = "validate"
    MERGE = "merge"
    LOAD = "load"
    PUBLISH = "publish"


PHASES: tuple[str, ...] = tuple(p.value for p in ETLPhase)


class ETLStatus(StrEnum):
    """The outcome of a whole execution (``running`` until it has one)."""

    SUCCESS = "success"
    PARTIAL_SUCCESS = "partial_success"
    FAILED = "failed"


class ExecutionStatus(StrEnum):
    """Where an execution is: planned, enqueued and running, or its outcome (an ``ETLStatus``)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    PARTIAL_SUCCESS = "partial_success"
    FAILED = "failed"


ACTIVE_STATUSES = (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)  # before its outcome: planned, then enqueued
TERMINAL_STATUSES = frozenset(s.value for s in ETLStatus)


class PhaseStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"


class TransformerStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"  # never ran: its run was cancelled or passed its deadline first


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass
class TransformerExecution:
    """One transformer batch: a source's slice of staging rows turned into work rows."""

    transformer_type: str
    extraction_id: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_seconds: float | None = None
    status: str = TransformerStatus.PENDING
    records_processed: int = 0
    records_succeeded: int = 0
    records_failed: int = 0
    error_message: str | None = None
    batch_no: int | None = None
    task_id: str | None = None
    hostname: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "transformer_type": str(self.transformer_type),
            "extraction_id": self.extraction_id,
            "started_at": _iso(self.started_at),
            "completed_at": _iso(self.completed_at),
            "duration_seconds": self.duration_seconds,
            "status": str(self.status),
            "records_processed": self.records_processed,
            "records_succeeded": self.records_succeeded,
            "records_failed": self.records_failed,
            "error_message": self.error_message,
            "batch_no": self.batch_no,
            "task_id": self.task_id,
            "hostname": self.hostname,
        }


@dataclass
class PhaseExecution:
    """One phase of one execution."""

    phase: str
    extraction_id: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_seconds: float | None = None
    status: str = PhaseStatus.PENDING
    details: dict[str, Any] = field(default_factory=dict)
    error_message: str | None = None
    task_id: str | None = None
    hostname: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": str(self.phase),
            "extraction_id": self.extraction_id,
            "started_at": _iso(self.started_at),
            "completed_at": _iso(self.completed_at),
            "duration_seconds": self.duration_seconds,
            "status": str(self.status),
            "details": self.details,
            "error_message": self.error_message,
            "task_id": self.task_id,
            "hostname": self.hostname,
        }


@dataclass
class ETLExecution:
    """One run of the pipeline over one extraction."""

    execution_id: str
    extraction_id: str
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_seconds: float | None = None
    overall_status: str = ExecutionStatus.RUNNING
    phases: list[PhaseExecution] = field(default_factory=list)
    transformers: list[TransformerExecution] = field(default_factory=list)
    total_prospects_loaded: int = 0
    total_grades_loaded: int = 0
    total_measurements_loaded: int = 0
    total_stats_loaded: int = 0
    quality_score: float | None = None
    error_summary: str | None = None
    replay_of: str | None = None  # the execution whose finished phases this one reused
    replay_from: str | None = None  # ... from this phase on
    requested_by: str | None = None  # who started it (none: the scheduler, the drop folder)
    # Resumed from PostgreSQL because the broker lost it: how often, the last time and from which phase.
    resumes: int = 0
    resumed_at: datetime | None = None
    resumed_from: str | None = None
    # Tasks handed to another worker because the one holding them was lost: task_id, lost_worker, at.
    handovers: list[dict[str, Any]] = field(default_factory=list)
    # While it runs: the tasks started and not finished (task_name, task_id, hostname, since).
    waiting_for: list[dict[str, Any]] = field(default_factory=list)

    def transformer_summary(self) -> dict[str, dict[str, Any]]:
        """Per source: batches, records processed and quarantined, statuses, errors and workers."""
        summary: dict[str, dict[str, Any]] = {}
        for t in self.transformers:
            entry = summary.setdefault(
                t.transformer_type,
                {"batches": 0, "processed": 0, "failed": 0, "statuses": set(), "errors": set(), "workers": set()},
            )
            entry["batches"] += 1
            entry["processed"] += t.records_processed
            entry["failed"] += t.records_failed
            entry["statuses"].add(str(t.status))
            if t.error_message:
                entry["errors"].add(t.error_message)
            if t.hostname:
                entry["workers"].add(t.hostname)
        return dict(sorted(summary.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "execution_id": self.execution_id,
            "extraction_id": self.extraction_id,
            "started_at": _iso(self.started_at),
            "completed_at": _iso(self.completed_at),
            "duration_seconds": self.duration_seconds,
            "overall_status": str(self.overall_status),
            "phases": [p.as_dict() for p in self.phases],
            "transformers": [t.as_dict() for t in self.transformers],
            "total_prospects_loaded": self.total_prospects_loaded,
            "total_grades_loaded": self.total_grades_loaded,
            "total_measurements_loaded": self.total_measurements_loaded,
            "total_stats_loaded": self.total_stats_loaded,
            "quality_score": self.quality_score,
            "error_summary": self.error_summary,
            "replay_of": self.replay_of,
            "replay_from": self.replay_from,
            "resumes": self.resumes,
            "resumed_at": _iso(self.resumed_at),
            "resumed_from": self.resumed_from,
            "handovers": [{**h, "at": _iso(h["at"])} for h in self.handovers],
            "waiting_for": [{**w, "since": _iso(w["since"])} for w in self.waiting_for],
        }
