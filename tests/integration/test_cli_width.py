"""Every read command fits 80 columns, piped or not: nothing is cut that a person must type or read
whole (dates, rules, review and prospect ids, paths), and no cell spills over lines with a literal ``\\n``
(issue 24, item 7)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
import sqlalchemy as sa

from etl_worker.db.engine import transaction
from tests.helpers import etl, record_execution, stage_fixtures

WIDTH = 80


@pytest.fixture
def history(settings, empty_database_url):  # type: ignore[no-untyped-def]
    """Alerts, review items with several candidates, quarantined rows and daily rollups, as a busy site has."""
    settings = settings.with_overrides(database_url=empty_database_url)
    extraction_id = stage_fixtures(settings, ("yahoo",))
    execution_id = record_execution(settings, extraction_id, status="partial_success")
    with transaction(settings.database_url) as conn:
        for rule, scope in (("partial_success", "execution"), ("low_quality", "execution"), ("volume_drop", "yahoo")):
            conn.execute(
                sa.text(
                    "INSERT INTO etl_alerts (execution_id, extraction_id, rule, scope, severity, message, deliveries) "
                    "VALUES (:e, :x, :rule, :scope, 'warning', :message, CAST(:d AS jsonb))"
                ),
                {
                    "e": execution_id,
                    "x": extraction_id,
                    "rule": rule,
                    "scope": scope,
                    "message": f"{rule}: " + "a long explanation of what happened in this run " * 3,
                    "d": json.dumps({"log": "delivered", "webhook": "webhook https://hooks.example/*** answered 500"}),
                },
            )
        for row in (1, 2):
            conn.execute(
                sa.text(
                    "INSERT INTO match_reviews (extraction_id, source, row_number, full_name, draft_year, reason, "
                    "candidates) VALUES (:x, 'yahoo', :row, 'Christopher Montgomery-Smith', 2020, :reason, "
                    "CAST(:c AS jsonb))"
                ),
                {
                    "x": extraction_id,
                    "row": row,
                    "reason": "two candidates within 0.05 of each other: names differ (0.91 and 0.89)",
                    "c": json.dumps([f"christopher montgomery-smith|2020|alabama-{n}" for n in range(3)]),
                },
            )
            conn.execute(
                sa.text(
                    "INSERT INTO quarantined_records (extraction_id, source, row_number, rule, reason, record) "
                    "VALUES (:x, 'yahoo', :row, 'not_a_number', :reason, '{}')"
                ),
                {
                    "x": extraction_id,
                    "row": row + 100,
                    "reason": "rank: 'first overall, unanimous' is not a number" * 2,
                },
            )
        for kind, name in (("execution", "all"), ("phase", "transform"), ("source", "yahoo")):
            conn.execute(
                sa.text(
                    "INSERT INTO etl_daily_rollups (day, kind, name, runs, successes, failures, others, timed_runs, "
                    "duration_sum, duration_p50, duration_p95, records) "
                    "VALUES (current_date - 1, :kind, :name, 1234, 1200, 30, 4, 1234, 9999.5, 12.34, 123.45, 99999)"
                ),
                {"kind": kind, "name": name},
            )
    return settings, extraction_id, execution_id


def _lines(settings, *command: str) -> list[str]:  # type: ignore[no-untyped-def]
    result = etl(*command, env={"ETL_DATABASE_URL": settings.database_url, "COLUMNS": str(WIDTH)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines, command
    too_wide = [line for line in lines if len(line) > WIDTH]
    assert not too_wide, "\n".join(too_wide)
    assert "\\n" not in result.stdout
    return lines


def test_read_commands_fit_80_columns_and_keep_what_is_typed_whole(history):  # type: ignore[no-untyped-def]
    settings, extraction_id, execution_id = history
    daily = _lines(settings, "summary", "--daily", "3")
    assert sum(bool(re.match(r"\d{4}-\d{2}-\d{2}\s", line)) for line in daily) >= 3, daily
    assert any(re.search(r"\btransform\b.*\b1234\b", line) for line in daily), daily

    alerts = _lines(settings, "alerts")
    for rule in ("partial_success", "low_quality", "volume_drop"):
        assert any(
            re.match(rf"\d{{4}}-\d{{2}}-\d{{2}} \d{{2}}:\d{{2}}:\d{{2}}\s.*\b{rule}\b", line) for line in alerts
        ), alerts

    review = _lines(settings, "review")
    ids = [int(m.group(1)) for line in review if (m := re.match(r"\s*(\d+)\s+yahoo\s", line))]
    assert len(ids) == 2, review
    assert sum("not loaded  christopher" in line for line in review) == 6, review  # one line per candidate

    quarantine = _lines(settings, "quarantine", extraction_id)
    assert any(re.search(r"\b101\b.*not_a_number", line) for line in quarantine), quarantine

    status = _lines(settings, "status", execution_id)
    assert any(f"execution {execution_id[:8]} " in line for line in status), status


def test_a_long_path_is_never_broken_when_piped(history, tmp_path):  # type: ignore[no-untyped-def]
    settings, _, execution_id = history
    deep = tmp_path / ("a-directory-with-a-long-name-" + uuid.uuid4().hex) / "reports"
    deep.mkdir(parents=True)
    path = deep / f"execution-{execution_id}.html"
    result = etl(
        "report", execution_id, "-o", str(path), env={"ETL_DATABASE_URL": settings.database_url, "COLUMNS": "80"}
    )
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout.splitlines()
