"""Before a task runs: is its execution still active, and has its worker not died on it too often?"""

from __future__ import annotations

from etl_worker.db import tracking
from etl_worker.db.engine import transaction
from etl_worker.models import ACTIVE_STATUSES
from etl_worker.settings import Settings


def refusal(
    settings: Settings, task_id: str, retry: int, execution_id: str, hostname: str | None, task_name: str | None
) -> str | None:
    """Count this delivery (started on ``hostname``) in PostgreSQL; None if the task may run, else why not.

    A task of a cancelled, timed-out or finished execution does not run; a task whose worker died on
    each of its last deliveries is given up rather than run forever.
    """
    with transaction(settings.database_url) as conn:
        status = tracking.execution_status(conn, execution_id)
        deliveries = tracking.count_delivery(conn, task_id, retry, execution_id, hostname, task_name)
    if status not in ACTIVE_STATUSES:
        return f"not run: the execution is {status}"
    if deliveries > settings.max_deliveries:
        return f"given up after {deliveries - 1} deliveries: its worker died every time"
    return None


def finished(settings: Settings, task_id: str, retry: int) -> None:
    """Note that this delivery of the task is over (whatever its outcome), for ``status``."""
    with transaction(settings.database_url) as conn:
        tracking.finish_delivery(conn, task_id, retry)
