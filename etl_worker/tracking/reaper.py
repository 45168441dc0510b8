"""The reaper: a worker that goes silent loses its tasks to the others in seconds, not at the visibility timeout.

With the Redis broker a task's message sits in kombu's ``unacked`` hash while a worker holds it (late
acks); only the visibility sweep brings it back, and that timeout must exceed the longest task, so a
dead machine would stall its run for many minutes. The reaper follows the workers' Celery events:
heartbeats say who is alive, task events say which task each worker received or started and has not
finished. PostgreSQL's delivery ledger adds which worker last started each task, for tasks whose
events the reaper did not see (it started later). A worker silent for ``ETL_WORKER_LOST_SECONDS`` is
declared lost, and each of its tasks whose message is still unacknowledged is put back on its queue
with kombu's own restore (one Redis transaction, watched like the visibility sweep's, so the message
is delivered again once, not twice). The handover is recorded in the ledger for ``status``.

A worker that was only slow and comes back finishes its copy too; tasks are idempotent (batch and load
ledgers), so the second finish changes nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from celery import Celery

from etl_worker.db import tracking
from etl_worker.db.engine import transaction
from etl_worker.settings import Settings

log = logging.getLogger(__name__)

_FINISHED = frozenset({"task-succeeded", "task-failed", "task-revoked", "task-rejected", "task-retried"})


@dataclass
class WorkerView:
    """What the events said about one worker."""

    last_seen: float
    tasks: set[str] = field(default_factory=set)  # received or started, not finished
    lost: bool = False
    pending: bool = False  # lost, its tasks not yet handed over


class Reaper:
    def __init__(self, settings: Settings, app: Celery) -> None:
        self.settings = settings
        self.app = app
        self.workers: dict[str, WorkerView] = {}
        self.lock = threading.Lock()
        self.handed_over = 0

    # --- events -------------------------------------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        hostname = event.get("hostname")
        if not hostname:
            return
        kind = event.get("type", "")
        now = time.monotonic()
        with self.lock:
            view = self.workers.get(hostname)
            if kind == "worker-offline":  # a clean shutdown requeues what it held
                self.workers.pop(hostname, None)
                return
            if view is None or view.lost:
                if view is not None:
                    log.warning("worker %s is back after it was declared lost", hostname)
                view = self.workers[hostname] = WorkerView(now)
            view.last_seen = now
            task = event.get("uuid")
            if task and kind in ("task-received", "task-started"):
                view.tasks.add(task)
            elif task and kind in _FINISHED:
                view.tasks.discard(task)

    def follow(self, stop: threading.Event) -> None:
        """Capture events until ``stop`` is set, reconnecting after broker faults."""
        delay = 0.5
        while not stop.is_set():
            try:
                with self.app.connection_for_read() as conn:
                    receiver = self.app.events.Receiver(conn, handlers={"*": self.on_event})
                    watcher = threading.Thread(target=self._stop_when, args=(stop, receiver), daemon=True)
                    watcher.start()
                    receiver.capture(limit=None, timeout=None, wakeup=False)
                delay = 0.5
            except Exception as exc:
                if stop.is_set():
                    return
                log.warning("reaper lost the event stream; reconnecting: %s", exc)
                stop.wait(delay)
                delay = min(delay * 2, 10)

    @staticmethod
    def _stop_when(stop: threading.Event, receiver: Any) -> None:
        stop.wait()
        receiver.should_stop = True

    # --- sweeping -----------------------------------------------------------------------------

    def lost_workers(self) -> dict[str, set[str]]:
        """Workers silent for longer than the limit whose tasks are not yet handed over, with those tasks."""
        limit = self.settings.worker_lost_seconds
        now = time.monotonic()
        with self.lock:
            for view in self.workers.values():
                if not view.lost and now - view.last_seen > limit:
                    view.lost = view.pending = True
            return {hostname: set(v.tasks) for hostname, v in self.workers.items() if v.lost and v.pending}

    def sweep(self) -> int:
        """Hand the tasks of every lost worker back to their queues; returns how many.

        A sweep that fails (the broker or the database away) leaves the worker pending for the next one.
        """
        moved = 0
        for hostname, tasks in self.lost_workers().items():
            with transaction(self.settings.database_url) as conn:
                tasks |= tracking.unfinished_tasks_started_on(conn, hostname)
            restored = self.restore(tasks)
            if restored:
                with transaction(self.settings.database_url) as conn:
                    tracking.record_handover(conn, restored, hostname)
            with self.lock:
                view = self.workers.get(hostname)
                if view is not None and view.lost:
                    view.pending = False
                    view.tasks.clear()
            moved += len(restored)
            log.warning(
                "worker %s lost (silent for over %s s): %d task(s) handed back to the queue",
                hostname,
                self.settings.worker_lost_seconds,
                len(restored),
            )
        self.handed_over += moved
        return moved

    def restore(self, task_ids: set[str]) -> list[str]:
        """Put the unacknowledged messages of these tasks back on their queues (kombu's restore)."""
        if not task_ids:
            return []
        restored = []
        with self.app.connection_for_write() as conn:
            channel = conn.default_channel
            client = channel.client
            for tag, raw in client.hgetall(channel.unacked_key).items():
                try:
                    message = json.loads(raw)[0]
                    task_id = message["headers"]["id"]
                except (ValueError, KeyError, IndexError, TypeError):
                    continue
                if task_id in task_ids:
                    channel.qos.restore_by_tag(tag.decode() if isinstance(tag, bytes) else tag, leftmost=True)
                    restored.append(task_id)
        return restored

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Follow the events in a thread and sweep every ``interval`` seconds until ``stop``."""
        follower = threading.Thread(target=self.follow, args=(stop,), name="reaper-events", daemon=True)
        follower.start()
        while not stop.wait(interval):
            try:
                self.sweep()
            except Exception as exc:  # the broker or the database away: the next sweep tries again
                log.warning("reaper sweep failed: %s", exc)
        follower.join(5)
