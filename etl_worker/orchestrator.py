"""The seed's ``ETLOrchestrator``, distributed: it enqueues runs on Celery and reads results from PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeout

from etl_worker import replay
from etl_worker.db import tracking, work
from etl_worker.db.engine import transaction
from etl_worker.deadlines import expire_overdue
from etl_worker.errors import ConfigurationError, FatalError
from etl_worker.models import TERMINAL_STATUSES, ETLExecution, TransformerType
from etl_worker.pipeline import alert_signature, batch_tasks, execution_task_ids
from etl_worker.settings import Settings
from etl_worker.tasks import run_extraction
from etl_worker.tracking import history
from etl_worker.tracking.listener import Listener


class ETLOrchestrator:
    """Runs extractions on the workers and answers questions about every run ever recorded.

    ``transformers`` names the transformer types a run uses by default (a list, or a mapping whose keys
    are the types); the transformers themselves live in the workers' source registry.
    """

    def __init__(
        self,
        transformers: Iterable[TransformerType | str] | Mapping[TransformerType | str, Any] | None = None,
        max_records_per_batch: int = 1000,
        timeout_seconds: int = 1800,
        settings: Settings | None = None,
    ) -> None:
        base = settings or Settings.from_env()
        self.settings = base.with_overrides(
            max_records_per_batch=max_records_per_batch, timeout_seconds=timeout_seconds
        )
        self.transformer_types = [str(t) for t in transformers] if transformers else None

    def start_extraction(
        self, extraction_id: str, transformer_types: Iterable[TransformerType | str] | None = None
    ) -> str:
        """Enqueue a run and return its execution id once a worker has started it."""
        types = [str(t) for t in transformer_types] if transformer_types else self.transformer_types
        return self._start(extraction_id, types, self.settings.max_records_per_batch)

    def replay(self, execution_id: str, from_phase: str | None = None) -> str:
        """Start a new execution of the same extraction at ``from_phase`` (default: the first phase that
        did not succeed), reusing the work of the phases before it; returns the new execution's id."""
        original = history.get_execution(self.settings, execution_id)
        if original is None:
            raise ConfigurationError(f"execution {execution_id} does not exist")
        with transaction(self.settings.database_url) as conn:
            sources, batch_size = tracking.execution_setup(conn, execution_id)
            plan = tracking.planned_batches(conn, execution_id)
            transformed = work.all_batches_done(conn, original.extraction_id, plan)
        phase = from_phase or replay.default_phase(original, transformed)
        replay.check(original, phase, transformed)
        batch_size = batch_size or self.settings.max_records_per_batch
        return self._start(original.extraction_id, sources, batch_size, execution_id, phase)

    def _start(
        self,
        extraction_id: str,
        transformer_types: list[str] | None,
        batch_size: int,
        replay_of: str | None = None,
        from_phase: str | None = None,
    ) -> str:
        result = run_extraction.apply_async(
            args=[extraction_id],
            kwargs={
                "transformer_types": transformer_types,
                "max_records_per_batch": batch_size,
                "timeout_seconds": self.settings.timeout_seconds,
                "replay_of": replay_of,
                "from_phase": from_phase,
            },
        )
        try:
            started = result.get(timeout=60, propagate=True)
        except CeleryTimeout:
            raise FatalError(
                f"no worker started run {result.id} within 60 s (it stays queued); is a worker running?"
            ) from None
        return started["execution_id"]

    def wait(self, execution_id: str, poll_seconds: float = 0.25) -> ETLExecution:
        """Block until the execution has an outcome (or has passed its deadline), then return it."""
        while True:
            expire_overdue(self.settings.database_url)
            with transaction(self.settings.database_url) as conn:
                status = tracking.execution_status(conn, execution_id)
            if status is None:
                raise FatalError(f"execution {execution_id} does not exist")
            if status in TERMINAL_STATUSES:
                break
            time.sleep(poll_seconds)
        # Phase and transformer records come from the result backend; take this execution's now
        # rather than depend on a listener being up.
        with transaction(self.settings.database_url) as conn:
            canvas = tracking.pipeline(conn, execution_id)
        Listener(self.settings).reconcile_tasks(execution_task_ids(execution_id, canvas))
        execution = history.get_execution(self.settings, execution_id)
        if execution is None:  # pruned while it was waited for
            raise FatalError(f"execution {execution_id} does not exist")
        return execution

    def execute_extraction(
        self, extraction_id: str, transformer_types: Iterable[TransformerType | str] | None = None
    ) -> ETLExecution:
        """Run the whole pipeline for one extraction and return its execution, as recorded."""
        return self.wait(self.start_extraction(extraction_id, transformer_types))

    def cancel(self, execution_id: str) -> bool:
        """Stop a run: record it failed ("cancelled by operator") and revoke every one of its tasks.

        Queued and reserved tasks are dropped by the workers; running ones are terminated; a task that
        starts anyway finds its execution over in PostgreSQL and does nothing. Returns False when the
        execution had already ended.
        """
        from etl_worker.celery_app import app

        with transaction(self.settings.database_url) as conn:
            cancelled = tracking.finish_execution(conn, execution_id, "failed", error_summary="cancelled by operator")
            canvas = tracking.pipeline(conn, execution_id)
            if cancelled:
                tracking.record_end(
                    conn, execution_id, "cancelled by operator", batch_tasks(execution_id, canvas.get("plan", []))
                )
        app.control.revoke(execution_task_ids(execution_id, canvas), terminate=True, signal="SIGKILL")
        if cancelled:
            alert_signature(execution_id, "cancel").apply_async()
        return cancelled

    def get_execution_history(self, limit: int = 10) -> list[ETLExecution]:
        return history.get_history(self.settings, limit)

    def get_execution_summary(self) -> dict[str, Any]:
        return history.get_summary(self.settings)
