"""Runs that outlived their deadline: fail them and raise their alerts (whoever notices first)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from etl_worker.db import tracking
from etl_worker.db.engine import transaction
from etl_worker.taskids import batch_tasks

log = logging.getLogger(__name__)


def expire_overdue(database_url: str, raise_alerts: Callable[[str], object]) -> list[str]:
    """Fail every active execution past its deadline and hand each to ``raise_alerts`` (the caller says
    how: etl_worker.pipeline.enqueue_deadline_alerts on a Celery app); returns their ids."""
    with transaction(database_url) as conn:
        expired = tracking.fail_overdue(conn)
        for execution_id in expired:
            plan = batch_tasks(execution_id, tracking.pipeline(conn, execution_id).get("plan", []))
            tracking.record_end(conn, execution_id, "deadline exceeded", plan)
    for execution_id in expired:
        log.warning("execution passed its deadline", extra={"execution_id": execution_id})
        raise_alerts(execution_id)
    return expired
