"""The one error hierarchy of etl_worker.

- ``RetriableError``: a passing fault (connection lost, deadlock, serialization failure); Celery retries.
- ``FatalError``: the run cannot go on (bad configuration, unknown extraction); one clear message.
- ``ExportError``: a file that cannot be staged as it is (a ``ConfigurationError``: file, line, problem).
- ``RecordError``: one bad source row; it is quarantined with the reason and the run goes on.
- ``BatchesPending``: validate waits for transform batches that have not reported (retried, unbounded).

A data-quality FAIL is no exception: it is the validate phase's outcome, which halts the run.
"""

from __future__ import annotations

from etl_worker.display import printable


class ETLError(Exception):
    """Base of every error etl_worker raises on purpose."""


class RetriableError(ETLError):
    """A passing fault: the same work can succeed if tried again."""


class FatalError(ETLError):
    """The work cannot succeed as asked; retrying would not help."""


class ConfigurationError(FatalError):
    """A setting, URL or argument is wrong."""


class NotFoundError(FatalError):
    """An extraction, execution or source that does not exist."""


class ExportError(ConfigurationError):
    """A file that cannot be staged as it is: one line saying where and why."""

    def __init__(self, name: str, line: int | None, problem: str) -> None:
        where = f"{printable(name)}: line {line:,}" if line else printable(name)
        super().__init__(f"{where}: {problem}")
        self.line = line
        self.problem = problem


class NotPlain(Exception):
    """Ingest's fast reader met something it does not read plainly: the exact reader reads the file
    again (never seen outside ingest)."""


class RecordError(ETLError):
    """One source record cannot be used; ``rule`` names why, for the quarantine table."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


class TaskError(ETLError):
    """What a task raised, its message redacted (the original could carry a URL with a secret)."""


class BatchesPending(RetriableError):
    """Some planned transform batches have not reported yet; validate waits for them until the run's deadline."""
