"""The listener never dies on a result entry it cannot read: malformed, foreign or oversized entries in
its Redis (fakeredis here; the database is real) are skipped and counted, and the entries around them
are still recorded. A producer's ``uuid.UUID`` once reached the backend as kombu's ``{"__type__": "uuid"}``
object and stopped the listener on every restart: that entry is among the examples."""

from __future__ import annotations

import json
import uuid

import fakeredis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from etl_worker.ops.metrics import LISTENER_SKIPPED
from etl_worker.tracking.listener import MAX_ENTRY_BYTES, Listener
from tests.helpers import record_execution, scalar, stage_fixtures

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_names = st.sampled_from(["etl.transform", "etl.extract", "etl.merge", "etl.load", "etl.publish", "other.task"])
_states = st.sampled_from(["SUCCESS", "STARTED", "FAILURE", "RETRY", "PENDING", None, 7])
_record_keys = st.sampled_from(["kind", "execution_id", "extraction_id", "phase", "status", "started_at", "task_id"])


@st.composite
def _entries(draw: st.DrawFn) -> dict:
    """Entries shaped like a pipeline task's, with any value anywhere."""
    records = draw(st.lists(st.dictionaries(_record_keys, _json, max_size=7), max_size=3))
    result = draw(st.one_of(_json, st.just({"records": records}), st.just({"exc_type": draw(_json)})))
    kwargs = draw(st.one_of(_json, st.just({"ctx": draw(st.dictionaries(_record_keys, _json, max_size=4))})))
    return {"task_id": draw(st.text(max_size=40)), "name": draw(_names), "status": draw(_states)} | {
        "result": result,
        "kwargs": kwargs,
    }


def _uuid_entry(settings) -> dict:  # type: ignore[no-untyped-def]
    """The entry a producer's uuid.UUID used to leave: a transform record whose id is kombu's object."""
    execution_id = record_execution(settings, stage_fixtures(settings, ("pff",)), status="running")
    record = {
        "kind": "transformer",
        "task_id": str(uuid.uuid4()),
        "execution_id": execution_id,
        "extraction_id": {"__type__": "uuid", "__value__": {"hex": uuid.uuid4().hex}},
        "transformer_type": "pff",
        "status": "success",
    }
    return {"task_id": record["task_id"], "name": "etl.transform", "status": "SUCCESS", "result": {"records": [record]}}


def _good_entry(settings) -> tuple[dict, str]:  # type: ignore[no-untyped-def]
    extraction = stage_fixtures(settings, ("pff",))
    execution_id = record_execution(settings, extraction, status="running")
    task = str(uuid.uuid4())
    record = {"kind": "phase", "execution_id": execution_id, "phase": "extract", "task_id": task, "status": "success"}
    return {"task_id": task, "name": "etl.extract", "status": "SUCCESS", "result": {"records": [record]}}, execution_id


def test_the_uuid_entry_and_an_oversized_one_are_skipped_and_counted_and_the_next_entry_is_recorded(settings):  # type: ignore[no-untyped-def]
    client = fakeredis.FakeRedis()
    client.set("celery-task-meta-a", json.dumps(_uuid_entry(settings)))
    client.set("celery-task-meta-b", b"{" + b" " * (MAX_ENTRY_BYTES + 1) + b"}")
    good, execution_id = _good_entry(settings)
    client.set("celery-task-meta-c", json.dumps(good))
    before = LISTENER_SKIPPED._value.get()
    listener = Listener(settings, client=client)
    assert listener.reconcile() == 3
    assert listener.skipped == 2 and LISTENER_SKIPPED._value.get() == before + 2
    assert scalar(settings, "SELECT status FROM etl_phase_runs WHERE execution_id = :e", e=execution_id) == "success"
    listener.reconcile()  # read again, as after a restart: still skipped, not fatal
    assert listener.skipped == 4


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.lists(_entries(), min_size=1, max_size=5), junk=st.lists(st.binary(max_size=50), max_size=2))
def test_no_entry_stops_a_reconcile(settings, entries, junk):  # type: ignore[no-untyped-def]
    client = fakeredis.FakeRedis()
    for n, entry in enumerate(entries):
        client.set(f"celery-task-meta-e{n}", json.dumps(entry))
    for n, raw in enumerate(junk):
        client.set(f"celery-task-meta-j{n}", raw)
    listener = Listener(settings, client=client)
    assert listener.reconcile() == len(entries) + len(junk)
