"""Rebuild executions from PostgreSQL, so any process sees every run: history, status and summary."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, RowMapping

from etl_worker.db import rollups, tracking
from etl_worker.db.engine import transaction
from etl_worker.errors import ConfigurationError, NotFoundError
from etl_worker.ids import canonical_uuid
from etl_worker.models import ACTIVE_STATUSES, PHASES, ETLExecution, ETLStatus, PhaseExecution, TransformerExecution
from etl_worker.settings import Settings

_PHASE_ORDER = {p: i for i, p in enumerate(PHASES)}
T = TypeVar("T")


def _from_row(cls: type[T], row: RowMapping, **given: Any) -> T:
    """A record dataclass from a history row: every field the row has, then ``given``."""
    return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row and f.name not in given}, **given)  # type: ignore[arg-type]


def _phase(row: RowMapping, extraction_id: str) -> PhaseExecution:
    return _from_row(PhaseExecution, row, extraction_id=extraction_id, details=row["details"] or {})


def _transformer(row: RowMapping) -> TransformerExecution:
    return _from_row(TransformerExecution, row)


def read_execution(conn: Connection, execution_id: str) -> ETLExecution | None:
    found = tracking.get_execution(conn, execution_id)
    if found is None:
        return None
    row, phases, transformers = found
    return _from_row(
        ETLExecution,
        row,
        overall_status=row["status"],
        phases=sorted((_phase(p, row["extraction_id"]) for p in phases), key=lambda p: _PHASE_ORDER[p.phase]),
        transformers=[_transformer(t) for t in transformers],
        handovers=tracking.handovers(conn, execution_id),
        waiting_for=tracking.in_flight(conn, execution_id) if row["status"] in ACTIVE_STATUSES else [],
    )


def get_execution(settings: Settings, execution_id: str) -> ETLExecution | None:
    with transaction(settings.database_url) as conn:
        return read_execution(conn, execution_id)


def get_history(settings: Settings, limit: int = 10) -> list[ETLExecution]:
    """The most recent executions, newest first, with their phases and transformers."""
    with transaction(settings.database_url) as conn:
        ids = tracking.recent_execution_ids(conn, limit)
        return [e for e in (read_execution(conn, i) for i in ids) if e is not None]


def get_summary(settings: Settings) -> dict[str, Any]:
    """Total executions, success rate (successes over finished runs, %), average duration, counts per
    status, over the history there is and the daily rollups of the history pruned from it."""
    with transaction(settings.database_url) as conn:
        live = tracking.summary(conn)
        kept = rollups.totals(conn)
    by_status = {s.value: live["by_status"].get(s.value, 0) + kept["by_status"][s.value] for s in ETLStatus}
    by_status["running"] = sum(live["by_status"].get(s, 0) for s in ACTIVE_STATUSES)
    finished = sum(by_status[s.value] for s in ETLStatus)
    timed = live["timed_runs"] + kept["timed_runs"]
    last = max((t for t in (live["last_started_at"], kept["last_started_at"]) if t is not None), default=None)
    return {
        "total_executions": finished + by_status["running"],
        "success_rate": round(100.0 * by_status[ETLStatus.SUCCESS] / finished, 2) if finished else 0.0,
        "average_duration_seconds": (live["duration_sum"] + kept["duration_sum"]) / timed if timed else None,
        "executions_by_status": by_status,
        "last_started_at": last.isoformat() if last else None,
    }


def get_daily(settings: Settings, days: int) -> list[dict[str, Any]]:
    """Per-day runs, outcomes and p50/p95 durations per phase and source, pruned days included."""
    with transaction(settings.database_url) as conn:
        return rollups.daily(conn, days)


_PREFIX = re.compile(r"[0-9a-f][0-9a-f-]{3,35}")
_SHOWN = 5


def resolve_id(settings: Settings, kind: str, value: str) -> str:
    """The full execution or extraction id (``kind``) that ``value`` names: the id itself or, as git
    does, a prefix of exactly one (at least 4 characters). One clear error when it names none or several.
    """
    given = value.strip().lower()
    try:
        return canonical_uuid(given, kind)
    except ConfigurationError:
        pass
    if not _PREFIX.fullmatch(given):
        raise ConfigurationError(f"{kind} id {value!r} is not an id or the start of one (4 or more hex digits)")
    with transaction(settings.database_url) as conn:
        matches = tracking.ids_starting_with(conn, kind, given, _SHOWN + 1)
    if not matches:
        raise NotFoundError(f"no {kind} id starts with {given}")
    if len(matches) > 1:
        shown = ", ".join(m[:13] for m in matches[:_SHOWN]) + (", ..." if len(matches) > _SHOWN else "")
        raise ConfigurationError(f"{kind} id prefix {given} is ambiguous: it starts {shown}")
    return matches[0]
