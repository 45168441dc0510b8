"""What ``etl-worker beat`` runs on its timetable: staged extractions nobody ran, and history pruning."""

from __future__ import annotations

import logging

from etl_worker.db import staging
from etl_worker.db.engine import transaction
from etl_worker.pipeline import run_signature
from etl_worker.settings import Settings
from etl_worker.taskids import task_id

log = logging.getLogger(__name__)


def run_staged(settings: Settings) -> list[str]:
    """Start every staged extraction that was never run (and got no new file for a while).

    The execution id of a scheduled run is derived from the extraction, so a second tick that comes
    before the first run is recorded enqueues the same run again, which then does nothing.
    """
    with transaction(settings.database_url) as conn:
        waiting = staging.never_run(conn, settings.schedule.settle_seconds)
    for extraction_id in waiting:
        execution_id = task_id(extraction_id, "scheduled")
        run_signature(extraction_id, execution_id).apply_async()
        log.info("scheduled run", extra={"extraction_id": extraction_id, "execution_id": execution_id})
    return waiting
