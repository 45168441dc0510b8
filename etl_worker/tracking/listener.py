"""The listener: follows the Celery result backend and writes execution history to PostgreSQL.

It subscribes to every ``celery-task-meta-*`` channel, then reconciles from the entries still stored
under those keys, so nothing written while it was down is lost; writes are idempotent upserts. It also
fails executions that outlived their deadline, when it is told how to raise their alerts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
import sqlalchemy as sa

from etl_worker.broker import redis_client
from etl_worker.db.engine import transaction
from etl_worker.errors import ConfigurationError, ETLError, RetriableError
from etl_worker.ops.deadlines import expire_overdue
from etl_worker.ops.metrics import LISTENER_SKIPPED, record_lag
from etl_worker.settings import Settings
from etl_worker.tracking.records import record_meta

log = logging.getLogger(__name__)
PATTERN = "celery-task-meta-*"
# No result of ours comes near this; a bigger entry is not read at all.
MAX_ENTRY_BYTES = 16 << 20
_DATABASE_FAULTS = (RetriableError, ConfigurationError, sa.exc.OperationalError, sa.exc.InterfaceError)


class Listener:
    """Writes history for every pipeline task entry the result backend holds or publishes."""

    def __init__(
        self,
        settings: Settings,
        client: redis.Redis | None = None,
        deadline_alerts: Callable[[str], object] | None = None,
    ) -> None:
        """``deadline_alerts``: how to raise the alerts of a run failed for passing its deadline; without
        it the listener leaves deadlines to others."""
        self.settings = settings
        self.client = client or redis_client(settings.result_backend)
        self.deadline_alerts = deadline_alerts
        self.recorded = 0
        self.skipped = 0
        self._told: set[str] = set()  # the entries whose skip was logged (once each)

    def handle(self, raw: bytes | str, live: bool = False) -> None:
        """Record one backend entry; ``live``: just published, so its lag is measured.

        An entry that is not ours (not JSON, not an object, another app's task) is ignored; one that names
        a pipeline task but cannot be read (malformed, oversized) is skipped, logged once and counted
        (``etl_listener_skipped_entries``), and the listener goes on. Only a database that cannot be
        reached stops the entry, to be read again after the reconnect."""
        if len(raw) > MAX_ENTRY_BYTES:
            self._skip(raw[:200], f"larger than {MAX_ENTRY_BYTES} bytes ({len(raw)})")
            return
        try:
            meta: Any = json.loads(raw)
        except (TypeError, ValueError, RecursionError):
            return
        if not isinstance(meta, dict):
            return
        try:
            with transaction(self.settings.database_url) as conn:
                written = record_meta(conn, meta)
        except _DATABASE_FAULTS:
            raise
        except Exception as exc:
            self._skip(str(meta.get("task_id"))[:80], f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
            return
        self.recorded += written
        if live and written:
            record_lag(meta)

    def _skip(self, entry: object, why: str) -> None:
        self.skipped += 1
        LISTENER_SKIPPED.inc()
        key = str(entry)
        if key not in self._told and len(self._told) < 10_000:
            self._told.add(key)
            log.warning("listener skipped a result entry it cannot read", extra={"entry": key, "error": why})

    def reconcile(self) -> int:
        """Record every pipeline entry still stored in the backend; returns how many entries were read."""
        seen = 0
        keys: list[bytes] = []
        for key in self.client.scan_iter(match=PATTERN, count=500):
            keys.append(key)
            if len(keys) == 500:
                seen += self._handle_keys(keys)
                keys = []
        if keys:
            seen += self._handle_keys(keys)
        return seen

    def reconcile_tasks(self, task_ids: list[str]) -> int:
        """Record the stored entries of these tasks only (cheap, unlike a scan of the whole backend)."""
        seen = 0
        for start in range(0, len(task_ids), 500):
            seen += self._handle_keys([f"celery-task-meta-{t}".encode() for t in task_ids[start : start + 500]])
        return seen

    def _handle_keys(self, keys: list[bytes]) -> int:
        values = self.client.mget(keys)
        for value in values:
            if value is not None:
                self.handle(value)
        return len(values)

    def run(self, stop: threading.Event, on_ready: Any = None) -> None:
        """Follow the backend until ``stop`` is set, reconnecting (and reconciling again) after faults."""
        delay = 0.5
        while not stop.is_set():
            try:
                self._follow(stop, on_ready)
                delay = 0.5
            except (redis.RedisError, ETLError, OSError) as exc:
                log.warning("listener lost its connection; reconnecting", extra={"error": str(exc)})
                stop.wait(delay)
                delay = min(delay * 2, 10)

    def _follow(self, stop: threading.Event, on_ready: Any) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.psubscribe(PATTERN)
            self.reconcile()
            if on_ready is not None:
                on_ready()
            next_sweep = 0.0
            while not stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message and message.get("type") == "pmessage":
                    self.handle(message["data"], live=True)
                if self.deadline_alerts is not None and time.monotonic() >= next_sweep:
                    expire_overdue(self.settings.database_url, self.deadline_alerts)
                    next_sweep = time.monotonic() + 5
        finally:
            pubsub.close()
