"""Bounded deliveries: a task whose worker dies every time it runs it is given up, not run forever."""

from __future__ import annotations

from etl_worker.db import tracking
from etl_worker.db.engine import transaction
from etl_worker.settings import Settings


def refusal(settings: Settings, task_id: str, retry: int, execution_id: str) -> str | None:
    """Count this delivery in PostgreSQL; None if the task may run, else why it must not."""
    with transaction(settings.database_url) as conn:
        deliveries = tracking.count_delivery(conn, task_id, retry, execution_id)
    if deliveries > settings.max_deliveries:
        return f"given up after {deliveries - 1} deliveries: its worker died every time"
    return None
