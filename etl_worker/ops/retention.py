"""History retention: executions older than the retention period leave their per-day rollups behind."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from etl_worker.db import rollups
from etl_worker.db.engine import transaction
from etl_worker.settings import Settings

log = logging.getLogger(__name__)


def cutoff(now: datetime, retention_days: int) -> datetime:
    """The start of the first UTC day kept: whole days are pruned, so a day's rollup is complete."""
    day = (now - timedelta(days=retention_days)).astimezone(UTC)
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


def prune_history(settings: Settings, retention_days: int | None = None) -> dict[str, int]:
    """Roll up and delete the finished executions that started before the cutoff, in one transaction."""
    until = cutoff(datetime.now(UTC), retention_days or settings.schedule.retention_days)
    with transaction(settings.database_url) as conn:
        deleted = rollups.roll_up_and_prune(conn, until)
    log.info("history pruned", extra={"before": until.isoformat(), **deleted})
    return deleted
