"""The listener's Redis logic over fakeredis: which result-backend entries a reconcile reads, in batches,
and what it skips. (What a record becomes is tests/unit/test_records.py's; a listener restarted mid-run on
real workers is tests/e2e/test_pipeline.py's.)"""

from __future__ import annotations

import json
import threading

import fakeredis

from etl_worker.settings import Settings
from etl_worker.tracking.listener import Listener
from tests.helpers import wait_for


class Reading(Listener):
    """A listener that keeps what it would record instead of writing it."""

    def __init__(self, client: fakeredis.FakeRedis) -> None:
        super().__init__(Settings.from_env({}), client=client)
        self.read: list[str] = []

    def handle(self, raw: bytes | str, live: bool = False) -> None:
        self.read.append(json.loads(raw)["task_id"])


def _backend(entries: int) -> fakeredis.FakeRedis:
    client = fakeredis.FakeRedis()
    for n in range(entries):
        client.set(f"celery-task-meta-t{n}", json.dumps({"task_id": f"t{n}", "status": "SUCCESS"}))
    client.set("celery-taskset-meta-g1", json.dumps({"task_id": "group"}))  # not a task entry
    client.set("_kombu.binding.etl", "x")
    return client


def test_a_reconcile_reads_every_task_entry_in_batches_and_nothing_else():
    listener = Reading(_backend(1234))  # more than two batches of 500
    assert listener.reconcile() == 1234
    assert sorted(listener.read) == sorted(f"t{n}" for n in range(1234))


def test_reconciling_named_tasks_reads_those_only_and_skips_entries_already_gone():
    listener = Reading(_backend(10))
    # t10 never stored (or expired since): counted as asked for, nothing handled for it.
    assert listener.reconcile_tasks(["t3", "t7", "t10"]) == 3
    assert listener.read == ["t3", "t7"]


def test_a_following_listener_reads_the_stored_entries_then_each_one_published():
    client = _backend(3)
    listener, stop, ready = Reading(client), threading.Event(), threading.Event()
    follower = threading.Thread(target=listener.run, args=(stop, ready.set))
    follower.start()
    try:
        wait_for(ready.is_set, 10, "the listener to subscribe and reconcile")
        assert sorted(listener.read) == ["t0", "t1", "t2"]
        client.publish("celery-task-meta-t9", json.dumps({"task_id": "t9", "status": "STARTED"}))
        wait_for(lambda: listener.read[-1:] == ["t9"], 10, "the published entry")
    finally:
        stop.set()
        follower.join(10)
