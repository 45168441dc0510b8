"""Runs that outlived their deadline: fail them and raise their alerts (whoever notices first)."""

from __future__ import annotations

import logging

from etl_worker.db import tracking
from etl_worker.db.engine import transaction
from etl_worker.pipeline import alert_signature, batch_tasks

log = logging.getLogger(__name__)


def expire_overdue(database_url: str) -> list[str]:
    """Fail every active execution past its deadline; returns their ids."""
    with transaction(database_url) as conn:
        expired = tracking.fail_overdue(conn)
        for execution_id in expired:
            plan = batch_tasks(execution_id, tracking.pipeline(conn, execution_id).get("plan", []))
            tracking.record_end(conn, execution_id, "deadline exceeded", plan)
    for execution_id in expired:
        log.warning("execution passed its deadline", extra={"execution_id": execution_id})
        alert_signature(execution_id, "deadline").apply_async()
    return expired
