"""Backend entries become the right history rows (the listener's translation), with fakes for the DB."""

from __future__ import annotations

from etl_worker.tracking import records


class FakeTracking:
    def __init__(self) -> None:
        self.phases: list[dict] = []
        self.transformers: list[dict] = []
        self.finished: list[tuple] = []
        self.status = "running"  # of the execution


def _patch(monkeypatch) -> FakeTracking:
    fake = FakeTracking()
    monkeypatch.setattr(records.tracking, "upsert_phase_run", lambda conn, r: fake.phases.append(r))
    monkeypatch.setattr(records.tracking, "upsert_transformer_run", lambda conn, r: fake.transformers.append(r))
    monkeypatch.setattr(records.tracking, "finish_execution", lambda conn, e, s, **kw: fake.finished.append((e, s, kw)))
    monkeypatch.setattr(records.tracking, "execution_status", lambda conn, e: fake.status)
    return fake


CTX = {"execution_id": "e-1", "extraction_id": "x-1", "sources": ["nfl"]}


def test_started_transform_is_a_running_record_with_its_worker(monkeypatch):
    fake = _patch(monkeypatch)
    meta = {
        "status": "STARTED",
        "name": "etl.transform",
        "task_id": "t-1",
        "worker": "w1@h",
        "kwargs": {"ctx": CTX, "batch": {"source": "nfl", "batch_no": 2, "row_lo": 21, "row_hi": 30}},
        "result": {"pid": 1, "hostname": "w1@h"},
    }
    assert records.record_meta(None, meta) == 1
    assert fake.transformers[0] | {} == {**fake.transformers[0], "status": "running", "hostname": "w1@h", "batch_no": 2}


def test_success_writes_the_records_the_task_returned(monkeypatch):
    fake = _patch(monkeypatch)
    result = {
        "run": {},
        "records": [
            {
                "kind": "phase",
                "execution_id": "e-1",
                "phase": "transform",
                "status": "success",
                "started_at": "2026-01-01T00:00:00+00:00",
                "completed_at": "2026-01-01T00:00:01+00:00",
            },
            {"kind": "phase", "execution_id": "e-1", "phase": "validate", "status": "success"},
        ],
    }
    assert (
        records.record_meta(None, {"status": "SUCCESS", "name": "etl.validate", "task_id": "v", "result": result}) == 2
    )
    assert [p["phase"] for p in fake.phases] == ["transform", "validate"]
    assert fake.phases[0]["started_at"].year == 2026


def _failure(name: str, task_id: str, exc_type: str, message: str) -> dict:
    """The backend's meta of a task of the run that raised ``exc_type(message)``."""
    return {
        "status": "FAILURE",
        "name": name,
        "task_id": task_id,
        "kwargs": {"ctx": CTX},
        "result": {"exc_type": exc_type, "exc_message": [message]},
    }


def test_a_crashed_phase_fails_the_execution(monkeypatch):
    fake = _patch(monkeypatch)
    meta = _failure("etl.load", "l", "TimeLimitExceeded", "900")
    records.record_meta(None, meta)
    assert fake.phases[0]["status"] == "failed"
    assert fake.finished[0][1] == "failed" and "load crashed" in fake.finished[0][2]["error_summary"]


def test_a_task_stopped_after_its_run_ended_changes_nothing(monkeypatch):
    fake = _patch(monkeypatch)
    fake.status = "failed"  # cancelled: every phase is recorded already
    meta = _failure("etl.validate", "v", "ChordError", "Dependency 1 raised TaskRevokedError('revoked')")
    assert records.record_meta(None, meta) == 0
    assert not fake.phases and not fake.finished


def test_celery_names_are_translated_while_the_run_is_active(monkeypatch):
    fake = _patch(monkeypatch)
    meta = _failure("etl.validate", "v", "ChordError", "Dependency 1 raised WorkerLostError()")
    records.record_meta(None, meta)
    assert fake.phases[0]["error_message"] == "not run: a task of the step before it was revoked or crashed"


def test_other_tasks_are_ignored(monkeypatch):
    fake = _patch(monkeypatch)
    assert records.record_meta(None, {"status": "SUCCESS", "name": "celery.chord_unlock", "result": None}) == 0
    assert not fake.phases and not fake.transformers
