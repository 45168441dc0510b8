"""One sink's failure never keeps an alert from the others, and what each sink did is stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from etl_worker.errors import RetriableError
from etl_worker.ops.alerts import raise_alerts, recent
from tests.helpers import FIXTURES, record_execution


class Broken:
    name = "broken"

    def send(self, payload: dict[str, Any]) -> None:
        raise ValueError("InvalidURL: nonnumeric port")  # not a RetriableError: used to end the loop


class Recording:
    name = "recording"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, payload: dict[str, Any]) -> None:
        self.sent.append(payload["rule"])


def test_a_sink_that_raises_neither_stops_the_others_nor_loses_its_alert(settings):
    from etl_worker.ingest import ingest_file

    extraction_id = ingest_file(settings, "yahoo", FIXTURES / "yahoo.csv").extraction_id
    finished = datetime.now(UTC)
    execution_id = record_execution(
        settings,
        extraction_id,
        completed_at=finished,
        duration_seconds=1.0,
        quality_score=40.0,
        error_summary="load failed",
    )
    recording = Recording()
    with pytest.raises(RetriableError, match="broken: ValueError"):  # so the alert task retries the broken sink
        raise_alerts(settings, execution_id, targets=[Broken(), recording])
    assert sorted(recording.sent) == ["low_quality", "run_failed"]
    stored = {a["rule"]: a["deliveries"] for a in recent(settings, 10) if a["execution_id"] == execution_id}
    assert stored == {
        "low_quality": {"broken": "ValueError", "recording": "delivered"},
        "run_failed": {"broken": "ValueError", "recording": "delivered"},
    }
