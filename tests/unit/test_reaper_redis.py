"""The reaper's Redis logic on kombu's own Redis transport over fakeredis: which messages are
unacknowledged, which tasks are queued, and a handover that puts a message back once, not twice.
(The real-Redis and real-worker proof is tests/faults: a whole worker lost.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import fakeredis
import kombu.transport.redis as kombu_redis
import pytest
from kombu import Connection, Exchange, Queue

from etl_worker.tracking.reaper import _restore_tags, queued, unacked

QUEUE = Queue("etl", Exchange("etl", type="direct"), routing_key="etl")


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    server = fakeredis.FakeServer()
    monkeypatch.setattr(
        kombu_redis.Channel, "_create_client", lambda self, asynchronous=False: fakeredis.FakeRedis(server=server)
    )
    with Connection("redis://fake:6379/0") as conn:
        yield conn.default_channel


def _send(channel: Any, task_id: str) -> None:
    channel.connection.client.Producer(channel).publish(
        {"args": []}, exchange=QUEUE.exchange, routing_key="etl", declare=[QUEUE], headers={"id": task_id}
    )


def test_a_message_a_worker_took_and_did_not_ack_is_found_by_its_task_id(channel: Any) -> None:
    _send(channel, "task-1")
    _send(channel, "task-2")
    taken = QUEUE(channel).get(no_ack=False)
    assert taken is not None and taken.headers["id"] == "task-1"
    held = unacked(channel)
    assert [task for task, _ in held.values()] == ["task-1"]
    assert queued(channel, SimpleNamespace(amqp=SimpleNamespace(queues={"etl": QUEUE}))) == {"task-2"}


def test_a_handover_puts_the_message_back_once_and_a_second_one_changes_nothing(channel: Any) -> None:
    _send(channel, "task-1")
    QUEUE(channel).get(no_ack=False)
    held = unacked(channel)
    assert _restore_tags(channel, held, list(held)) == ["task-1"]
    assert unacked(channel) == {}
    _restore_tags(channel, held, list(held))  # a sweep that read the hash before the first handover
    again = QUEUE(channel).get(no_ack=False)
    assert again is not None and again.headers["id"] == "task-1"
    assert QUEUE(channel).get(no_ack=False) is None  # one copy, not two


def test_an_unacked_entry_that_is_not_a_task_message_is_ignored(channel: Any) -> None:
    _send(channel, "task-1")
    QUEUE(channel).get(no_ack=False)
    channel.client.hset(channel.unacked_key, "stray", json.dumps({"not": "a message"}))
    assert [task for task, _ in unacked(channel).values()] == ["task-1"]
