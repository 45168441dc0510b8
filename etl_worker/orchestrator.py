"""The seed's ``ETLOrchestrator``, distributed: it enqueues runs on Celery and reads results from PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack, suppress
from typing import Any
from uuid import UUID

from celery.exceptions import TimeoutError as CeleryTimeout
from sqlalchemy import URL, Engine, make_url
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from etl_worker import sources
from etl_worker.db import tracking, work
from etl_worker.db.engine import listening, transaction
from etl_worker.errors import ConfigurationError, FatalError, NotFoundError
from etl_worker.ids import canonical_uuid
from etl_worker.models import TERMINAL_STATUSES, ETLExecution, ETLStatus, TransformerType
from etl_worker.ops import review
from etl_worker.ops.deadlines import expire_overdue
from etl_worker.phases import replay
from etl_worker.pipeline import alert_signature, enqueue_deadline_alerts
from etl_worker.redact import redact_url
from etl_worker.rules import DataQualityValidator
from etl_worker.settings import Settings
from etl_worker.taskids import batch_tasks, execution_task_ids
from etl_worker.tasks import run_extraction
from etl_worker.tracking import history
from etl_worker.tracking.listener import Listener

log = logging.getLogger(__name__)

__all__ = ["DataQualityValidator", "ETLOrchestrator", "TransformerType", "database_url"]


class ETLOrchestrator:
    """Runs extractions on the workers and answers questions about every run ever recorded.

    The seed's constructor, distributed:

    - ``db``: where history is read (a SQLAlchemy ``Session``, ``AsyncSession``, ``Engine``,
      ``AsyncEngine`` or URL; default: ``ETL_DATABASE_URL``). The workers keep their own connections,
      from their settings: point both at the same database.
    - ``transformers``: the sources a run uses by default, as a mapping from ``TransformerType`` (or a
      source name) to a transformer, or a list of types. A transformer is None (the source's registered
      adapter), a ``Source`` subclass, an instance of one (carried as its class) or a ``module:Class``
      path: workers on other machines import it by name, so it must live in a module they can import.
      ``None`` means every registered source; an empty mapping means none, and a run of none is refused.
    - ``validator``: a ``DataQualityValidator`` naming the rules a run applies (default: every built-in
      rule and every rule installed under the ``etl_worker.rules`` entry points).
    - ``max_records_per_batch``, ``timeout_seconds``: None means from settings (``ETL_MAX_RECORDS_PER_BATCH``,
      ``ETL_TIMEOUT_SECONDS``).

    Every plug-in is checked when the orchestrator is made, and again by the worker that starts the run.
    """

    START_TIMEOUT: float = 60  # seconds to wait for a worker to start a run before saying none did
    NOTICE_AFTER: float = 3  # seconds after which a run no worker started makes us ask whether any is up

    def __init__(
        self,
        db: Any = None,
        transformers: Iterable[TransformerType | str] | Mapping[TransformerType | str, Any] | None = None,
        validator: DataQualityValidator | None = None,
        max_records_per_batch: int | None = None,
        timeout_seconds: int | None = None,
        settings: Settings | None = None,
        requested_by: str | None = None,
    ) -> None:
        base = settings or Settings.from_env()
        overrides = {"max_records_per_batch": max_records_per_batch, "timeout_seconds": timeout_seconds}
        base = base.with_overrides(**{k: v for k, v in overrides.items() if v is not None})
        self.settings = base.with_overrides(database_url=database_url(db)) if db is not None else base
        self.transformers: dict[str, str | None] | None = None
        if transformers is not None:
            given = transformers.items() if isinstance(transformers, Mapping) else ((t, None) for t in transformers)
            chosen = {str(k): v for k, v in given}
            paths = sources.adapter_paths(chosen)
            self.transformers = {k: paths.get(k) for k in chosen}
        self.rules = None if validator is None else validator.names
        self.requested_by = requested_by  # recorded with each execution it starts and each it cancels
        self.on_notice: Callable[[str], object] | None = None  # who hears "no worker answers" (else the log)

    def start_extraction(
        self, extraction_id: str | UUID, transformer_types: Iterable[TransformerType | str] | None = None
    ) -> str:
        """Enqueue a run and return its execution id once a worker has started it (or the id of the
        active execution of the same extraction it joined)."""
        chosen = self._sources(transformer_types)
        adapters = {k: v for k, v in (self.transformers or {}).items() if v and (chosen is None or k in chosen)}
        return self._start(
            canonical_uuid(extraction_id), chosen, self.settings.max_records_per_batch, adapters, self.rules
        )

    def _sources(self, transformer_types: Iterable[TransformerType | str] | None) -> list[str] | None:
        """The sources of one run (None: every registered one); a readable error for a choice the
        orchestrator has no transformer for, or for a run of no source at all."""
        if transformer_types is not None:
            chosen = [str(t) for t in transformer_types]
        elif self.transformers is not None:
            chosen = list(self.transformers)
        else:
            return None
        if not chosen:
            raise ConfigurationError("no transformer to run: the orchestrator was given none (None means every source)")
        for name in chosen:
            sources.get_source(name)
        missing = [t for t in chosen if self.transformers is not None and t not in self.transformers]
        if missing:
            raise ConfigurationError(
                f"no transformer for {', '.join(missing)}: this orchestrator has {', '.join(self.transformers or [])}"
            )
        return chosen

    def replay(self, execution_id: str, from_phase: str | None = None) -> str:
        """Start a new execution of the same extraction at ``from_phase`` (default: the first phase that
        did not succeed), reusing the work of the phases before it; returns the new execution's id."""
        original = history.get_execution(self.settings, execution_id)
        if original is None:
            raise NotFoundError(f"execution {execution_id} does not exist")
        with transaction(self.settings.database_url) as conn:
            sources, batch_size = tracking.execution_setup(conn, execution_id)
            plan = tracking.planned_batches(conn, execution_id)
            transformed = work.all_batches_done(conn, original.extraction_id, plan)
            kept = tracking.pipeline(conn, execution_id).get("ctx", {})
        phase = from_phase or replay.default_phase(original, transformed)
        replay.check(original, phase, transformed)
        batch_size = batch_size or self.settings.max_records_per_batch
        # The replay runs with the original's plug-ins, whatever this orchestrator was given.
        return self._start(
            original.extraction_id, sources, batch_size, kept.get("adapters"), kept.get("rules"), execution_id, phase
        )

    def _start(
        self,
        extraction_id: str,
        transformer_types: list[str] | None,
        batch_size: int,
        adapters: dict[str, str] | None = None,
        rules: list[str] | None = None,
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
                "adapters": adapters or None,
                "rules": rules,
                "requested_by": self.requested_by,
            },
        )
        deadline = time.monotonic() + self.START_TIMEOUT
        try:
            try:
                started = result.get(timeout=min(self.NOTICE_AFTER, self.START_TIMEOUT), propagate=True)
            except CeleryTimeout:
                self._say_if_no_worker()
                started = result.get(timeout=max(0.1, deadline - time.monotonic()), propagate=True)
        except CeleryTimeout:
            # Celery keeps a waiter that timed out until its task is ready; let it go now, while the
            # backend can still unsubscribe, not at interpreter exit (a traceback on stderr then).
            result.backend.remove_pending_result(result)
            raise FatalError(
                f"no worker started run {result.id} within {self.START_TIMEOUT:g} s (it stays queued); "
                "is a worker running?"
            ) from None
        return started["execution_id"]

    def _say_if_no_worker(self) -> None:
        """A run not started within NOTICE_AFTER seconds: ask the workers, and say it in one line when none
        answers (through ``on_notice``, else the log)."""
        from etl_worker.celery_app import app

        if app.control.ping(timeout=1.0, limit=1):
            return
        queue = app.conf.task_default_queue or "celery"
        line = (
            f"no worker answers on {redact_url(self.settings.broker_url)} (queue {queue}): start one with "
            f"`etl-worker worker`; waiting up to {self.START_TIMEOUT:g} s for one"
        )
        (self.on_notice or log.warning)(line)

    def wait(self, execution_id: str, poll_seconds: float = 1.0) -> ETLExecution:
        """Block until the execution has an outcome (or has passed its deadline), then return it.

        It wakes when an execution ends (PostgreSQL notifies the end as it commits) and every
        ``poll_seconds`` besides, to fail a run past its deadline.
        """
        with listening(self.settings.database_url, tracking.ENDED_CHANNEL) as notices:
            while not self.ended(execution_id):
                notices.wait(poll_seconds)
        return self._recorded(execution_id)

    async def wait_async(self, execution_id: str, poll_seconds: float = 1.0) -> ETLExecution:
        """``wait`` for an event loop: the database is read in a thread, the loop never blocks."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        with ExitStack() as stack:
            listen = listening(self.settings.database_url, tracking.ENDED_CHANNEL)
            notices = await asyncio.to_thread(stack.enter_context, listen)
            loop.add_reader(notices.fileno(), woken.set)
            stack.callback(loop.remove_reader, notices.fileno())
            while not await asyncio.to_thread(self.ended, execution_id):
                if not notices.drain():
                    with suppress(TimeoutError):
                        await asyncio.wait_for(woken.wait(), poll_seconds)
                woken.clear()
        return await asyncio.to_thread(self._recorded, execution_id)

    def ended(self, execution_id: str) -> bool:
        """Whether the execution has an outcome; one past its deadline is failed first (by whoever looks)."""
        expire_overdue(self.settings.database_url, enqueue_deadline_alerts)
        with transaction(self.settings.database_url) as conn:
            status = tracking.execution_status(conn, execution_id)
        if status is None:
            raise NotFoundError(f"execution {execution_id} does not exist")
        return status in TERMINAL_STATUSES

    def _recorded(self, execution_id: str) -> ETLExecution:
        # Phase and transformer records come from the result backend; take this execution's now
        # rather than depend on a listener being up.
        with transaction(self.settings.database_url) as conn:
            canvas = tracking.pipeline(conn, execution_id)
        Listener(self.settings).reconcile_tasks(execution_task_ids(execution_id, canvas))
        execution = history.get_execution(self.settings, execution_id)
        if execution is None:  # pruned while it was waited for
            raise NotFoundError(f"execution {execution_id} does not exist")
        return execution

    async def execute_extraction(
        self, extraction_id: str | UUID, transformer_types: Iterable[TransformerType | str] | None = None
    ) -> ETLExecution:
        """Run the whole pipeline for one extraction and return its execution, as recorded (awaitable,
        as in the seed; the workers run it, the event loop is never blocked)."""
        execution_id = await asyncio.to_thread(self.start_extraction, extraction_id, transformer_types)
        return await self.wait_async(execution_id)

    def execute_extraction_sync(
        self, extraction_id: str | UUID, transformer_types: Iterable[TransformerType | str] | None = None
    ) -> ETLExecution:
        """``execute_extraction`` for scripts without an event loop: blocks until the run has an outcome."""
        return self.wait(self.start_extraction(extraction_id, transformer_types))

    def cancel(self, execution_id: str) -> bool:
        """Stop a run: record it failed ("cancelled by" whoever this orchestrator acts for, or "operator")
        and revoke every one of its tasks.

        Queued and reserved tasks are dropped by the workers; running ones are terminated; a task that
        starts anyway finds its execution over in PostgreSQL and does nothing. Returns False when the
        execution had already ended.
        """
        from etl_worker.celery_app import app

        by = self.requested_by or "operator"
        with transaction(self.settings.database_url) as conn:
            cancelled = tracking.finish_execution(
                conn, execution_id, ETLStatus.FAILED, error_summary=f"cancelled by {by}"
            )
            canvas = tracking.pipeline(conn, execution_id)
            if cancelled:
                tracking.record_end(
                    conn, execution_id, f"cancelled by {by}", batch_tasks(execution_id, canvas.get("plan", []))
                )
        app.control.revoke(execution_task_ids(execution_id, canvas), terminate=True, signal="SIGKILL")
        if cancelled:
            alert_signature(execution_id, "cancel").apply_async()
        return cancelled

    def resolve_review(
        self,
        review_id: int,
        into: int | None = None,
        new_person: bool = False,
        decided_by: str = "python",
        reason: str | None = None,
    ) -> review.Resolved:
        """Place a record the merge held for review on prospect ``into`` or on a new person: it is loaded
        at once, and the next extraction that carries the same record places it the same way."""
        return review.resolve(
            self.settings, review_id, into=into, new_person=new_person, decided_by=decided_by, reason=reason
        )

    def get_execution_history(self, limit: int = 10) -> list[ETLExecution]:
        return history.get_history(self.settings, limit)

    def get_execution_summary(self) -> dict[str, Any]:
        return history.get_summary(self.settings)


def database_url(db: Any) -> str:
    """The URL the workers' driver (psycopg2) uses for the database ``db`` names: a URL, or a SQLAlchemy
    engine or session (sync or async) bound to one."""
    bind = getattr(db, "sync_session", db)  # an AsyncSession's own Session
    if isinstance(bind, Session):
        try:
            bind = bind.get_bind()
        except sa_exc.UnboundExecutionError:
            raise ConfigurationError("db is a session bound to no engine") from None
    bind = getattr(bind, "sync_engine", bind)  # an AsyncEngine's own Engine
    url = bind.url if isinstance(bind, Engine) else bind
    if isinstance(url, str):
        try:
            url = make_url(url)
        except sa_exc.ArgumentError:
            raise ConfigurationError("db is not a database URL") from None
    if not isinstance(url, URL):
        raise ConfigurationError(f"db must be a SQLAlchemy session, engine or URL, not {type(db).__name__}")
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError(f"db must be a PostgreSQL database, not {url.get_backend_name()}")
    return url.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
