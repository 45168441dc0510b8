"""One sink's failure never keeps an alert from the others, and what each sink did is stored."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from etl_worker.alerts import raise_alerts, recent
from etl_worker.db.engine import transaction
from etl_worker.errors import RetriableError
from tests.helpers import FIXTURES


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
    execution_id = str(uuid.uuid4())
    with transaction(settings.database_url) as conn:
        conn.execute(
            sa.text(
                "INSERT INTO etl_executions (execution_id, extraction_id, status, transformer_types, deadline_at, "
                "completed_at, duration_seconds, quality_score, error_summary) "
                "VALUES (:e, :x, 'failed', '[]', now(), now(), 1.0, 40.0, 'load failed')"
            ),
            {"e": execution_id, "x": extraction_id},
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
