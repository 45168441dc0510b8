"""Replay: a new execution of an extraction that starts at a phase and reuses what came before it.

The work tables and the batch ledger belong to the extraction, not to an execution, so the work of
the phases an earlier execution finished is still there: a replay from validate reads the transformed
rows as they are; a replay from transform re-runs only the batches the ledger does not hold as done
(by default a replay starts there when a source failed).
"""

from __future__ import annotations

from etl_worker.errors import ConfigurationError
from etl_worker.models import PHASES, TERMINAL_STATUSES, ETLExecution, ETLPhase, PhaseStatus
from etl_worker.phases.results import Run


def _succeeded(execution: ETLExecution, transformed: bool) -> dict[str, bool]:
    """Which phases succeeded. Transform did when the ledger holds every planned batch as done
    (``transformed``): its record is written by validate, which may have failed before writing it."""
    done = {p.phase: p.status == PhaseStatus.SUCCESS for p in execution.phases}
    done[ETLPhase.TRANSFORM] = transformed
    return done


def default_phase(execution: ETLExecution, transformed: bool) -> str:
    """The first phase that did not succeed."""
    done = _succeeded(execution, transformed)
    for name in PHASES:
        if not done.get(name):
            return name
    raise ConfigurationError(
        f"execution {execution.execution_id} succeeded in every phase: name one with --from-phase to run it again"
    )


def check(execution: ETLExecution, from_phase: str, transformed: bool) -> list[str]:
    """The phases a replay from ``from_phase`` reuses; a readable error when it cannot."""
    if execution.overall_status not in TERMINAL_STATUSES:
        raise ConfigurationError(f"execution {execution.execution_id} is still {execution.overall_status}")
    if from_phase not in PHASES:
        raise ConfigurationError(f"unknown phase {from_phase!r}: one of {', '.join(PHASES)}")
    reused = list(PHASES[: PHASES.index(from_phase)])
    done = _succeeded(execution, transformed)
    for name in reused:
        if not done.get(name):
            raise ConfigurationError(
                f"cannot replay from {from_phase}: {name} did not succeed in execution {execution.execution_id}"
                f" (replay from {name})"
            )
    return reused


def carried_run(execution: ETLExecution, from_phase: str) -> Run:
    """What the phases before ``from_phase`` handed on in the original execution (a phase it has no
    record of handed on nothing)."""
    details = {p.phase: p.details for p in execution.phases}
    if from_phase not in (ETLPhase.MERGE, ETLPhase.LOAD, ETLPhase.PUBLISH):
        return Run()
    return Run(
        failed_sources=tuple(details.get(ETLPhase.TRANSFORM, {}).get("failed_sources", [])),
        quality_score=details.get(ETLPhase.VALIDATE, {}).get("quality_score"),
        totals=dict(details.get(ETLPhase.LOAD, {}).get("loaded", {})) if from_phase == ETLPhase.PUBLISH else {},
    )
