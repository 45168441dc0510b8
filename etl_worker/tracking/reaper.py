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

Messages held by no worker at all are handed back too. A worker whose broker connection breaks drops
the messages it had received and not yet started, and kombu restores them to the queue at once, over
the connection that just broke: when the broker is restarting that restore fails, and the messages
stay in the ``unacked`` hash until the visibility timeout (celery#1307), while the run waits. The
reaper asks the live workers what they hold (active, reserved and scheduled tasks); an unacknowledged
message older than ``ORPHAN_GRACE`` seconds that no worker holds in two such sweeps in a row, with every
live worker answering both, goes back to its queue.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from celery import Celery

from etl_worker.broker import is_amqp
from etl_worker.db import tracking
from etl_worker.db.engine import transaction
from etl_worker.ops import resume
from etl_worker.settings import Settings

log = logging.getLogger(__name__)

# A delivery younger than this may not have reached its worker's reserved list yet.
ORPHAN_GRACE = 10.0
ORPHAN_INTERVAL = 5.0

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
        self.suspects: set[str] = set()  # delivery tags held by no worker at the last orphan sweep
        self.resumed = 0
        self.started = time.monotonic()
        self.amqp = is_amqp(settings.broker_url)

    # --- events -------------------------------------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        hostname = event.get("hostname")
        kind = event.get("type", "")
        if not hostname or kind == "task-sent":  # sent by a producer, not a worker
            return
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
                "worker %s lost (silent for over %s s): %d task(s) handed back to the queue, of %d it had started "
                "or received and not finished (%s); the others were not waiting for an acknowledgement",
                hostname,
                self.settings.worker_lost_seconds,
                len(restored),
                len(tasks),
                " ".join(sorted(t[:8] for t in tasks)),
            )
        self.handed_over += moved
        return moved

    def restore(self, task_ids: set[str]) -> list[str]:
        """Put the unacknowledged messages of these tasks back on their queues (kombu's restore). RabbitMQ
        does it by itself as the lost worker's connection closes."""
        if not task_ids or self.amqp:
            return []
        with self.app.connection_for_write() as conn:
            channel = conn.default_channel
            deliveries = unacked(channel)
            return _restore_tags(
                channel, deliveries, [t for t, (task_id, _) in deliveries.items() if task_id in task_ids]
            )

    def tick(self) -> None:
        """What the reaper checks every ``ORPHAN_INTERVAL`` seconds, once it has followed the events long
        enough to know the live workers: messages held by no worker, executions the broker lost."""
        if time.monotonic() - self.started < self.settings.worker_lost_seconds:
            return
        alive = self.alive_workers()
        held = held_by_workers(self.app, alive) if alive else set()
        if held is None:  # a live worker did not answer: nothing can be concluded
            self.suspects = set()
            return
        with self.app.connection_for_write() as conn:
            channel = conn.default_channel
            if self.amqp:  # RabbitMQ cannot be read without taking messages: only an empty queue says enough
                if any(channel.queue_declare(queue=q, passive=True).message_count for q in self.app.amqp.queues):
                    return
                busy = held
            else:
                deliveries = unacked(channel)
                if alive:
                    self.sweep_orphans(channel, deliveries, held)
                busy = held | {task_id for task_id, _ in deliveries.values()} | queued(channel, self.app)
        self.resume_stalled(busy)

    def sweep_orphans(self, channel: Any, deliveries: dict[str, tuple[str, float]], held: set[str]) -> int:
        """Hand back the unacknowledged messages no live worker holds in two sweeps in a row."""
        now = time.time()
        orphaned = {
            tag
            for tag, (task_id, delivered_at) in deliveries.items()
            if task_id not in held and now - delivered_at > ORPHAN_GRACE
        }
        confirmed, self.suspects = orphaned & self.suspects, orphaned - self.suspects
        restored = _restore_tags(channel, deliveries, sorted(confirmed))
        if restored:
            with transaction(self.settings.database_url) as db:
                tracking.record_handover(db, restored, None)
            log.warning("%d task(s) held by no worker handed back to the queue: %s", len(restored), restored)
        self.handed_over += len(restored)
        return len(restored)

    def resume_stalled(self, busy: set[str]) -> list[str]:
        """Resume the executions that made no progress for ``ETL_STALL_SECONDS`` and have no task queued,
        unacknowledged or held by a worker (``busy``); returns their ids."""
        with transaction(self.settings.database_url) as db:
            stalled = tracking.stalled_executions(db, self.settings.stall_seconds)
        resumed = []
        for execution_id, pipeline in stalled:
            if not resume.task_ids(execution_id, pipeline) & busy:
                resume.resume(self.settings, self.app, execution_id, pipeline)
                resumed.append(execution_id)
        self.resumed += len(resumed)
        return resumed

    def alive_workers(self) -> set[str]:
        """Workers heard from within the loss limit."""
        limit = self.settings.worker_lost_seconds
        now = time.monotonic()
        with self.lock:
            return {h for h, v in self.workers.items() if not v.lost and now - v.last_seen <= limit}

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Follow the events in a thread and sweep every ``interval`` seconds until ``stop``; look for
        orphaned messages every ``ORPHAN_INTERVAL`` seconds."""
        follower = threading.Thread(target=self.follow, args=(stop,), name="reaper-events", daemon=True)
        follower.start()
        next_orphan_sweep = time.monotonic() + ORPHAN_INTERVAL
        while not stop.wait(interval):
            try:
                self.sweep()
                if time.monotonic() >= next_orphan_sweep:
                    next_orphan_sweep = time.monotonic() + ORPHAN_INTERVAL
                    self.tick()
            except Exception as exc:  # the broker or the database away: the next sweep tries again
                log.warning("reaper sweep failed: %s", exc)
        follower.join(5)


def unacked(channel: Any) -> dict[str, tuple[str, float]]:
    """kombu's unacknowledged deliveries on the Redis broker: delivery tag -> (task id, delivered at)."""
    client = channel.client
    delivered_at = {
        _text(tag): score for tag, score in client.zrange(channel.unacked_index_key, 0, -1, withscores=True)
    }
    deliveries = {}
    for tag, raw in client.hgetall(channel.unacked_key).items():
        try:
            task_id = json.loads(raw)[0]["headers"]["id"]
        except (ValueError, KeyError, IndexError, TypeError):
            continue
        deliveries[_text(tag)] = (task_id, delivered_at.get(_text(tag), time.time()))
    return deliveries


def queued(channel: Any, app: Celery) -> set[str]:
    """The ids of the tasks waiting in the app's queues on the Redis broker (every priority list)."""
    ids = set()
    for queue in app.amqp.queues:
        for priority in channel.priority_steps:
            for raw in channel.client.lrange(channel._q_for_pri(queue, priority), 0, -1):
                try:
                    ids.add(json.loads(raw)["headers"]["id"])
                except (ValueError, KeyError, TypeError):
                    continue
    return ids


def held_by_workers(app: Celery, alive: set[str], timeout: float = 1.0) -> set[str] | None:
    """The ids of the tasks the workers hold (running, reserved or scheduled), or None when one of the
    ``alive`` workers did not answer."""
    inspect = app.control.inspect(timeout=timeout)
    held: set[str] = set()
    for replies in (inspect.active(), inspect.reserved(), inspect.scheduled()):
        if not replies or not alive <= set(replies):
            return None
        for tasks in replies.values():
            for task in tasks:
                request = task.get("request", task)  # scheduled entries wrap the request
                held.add(request.get("id"))
    return held


def _restore_tags(channel: Any, deliveries: dict[str, tuple[str, float]], tags: list[str]) -> list[str]:
    """Put these deliveries back on their queues with kombu's restore (a watched transaction: a message
    acked meanwhile is left alone); returns their task ids."""
    for tag in tags:
        channel.qos.restore_by_tag(tag, leftmost=True)
    return [deliveries[tag][0] for tag in tags]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
