"""Helpers shared by the integration and end-to-end tests: waiting, staging fixtures, real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

FIXTURES = Path(__file__).parent / "fixtures"
T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def etl(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``etl-worker ARGS`` in a subprocess, with ``env`` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "etl_worker.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def stage_fixtures(settings: Any, sources: tuple[str, ...] = ("pff", "cfr", "nfl", "yahoo")) -> str:
    from etl_worker.ingest import ingest_file

    extraction_id = None
    for source in sources:
        extraction_id = ingest_file(settings, source, FIXTURES / f"{source}.csv", extraction_id).extraction_id
    assert extraction_id is not None
    return extraction_id


def record_execution(settings: Any, extraction_id: str, **columns: Any) -> str:
    """An execution row written straight to the history table (``status`` failed and ``execution_id`` new
    unless given); its id."""
    import uuid

    row = {"status": "failed", "execution_id": str(uuid.uuid4()), **columns, "extraction_id": extraction_id}
    names = ", ".join(row)
    values = ", ".join(f":{k}" for k in row)
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"INSERT INTO etl_executions ({names}, transformer_types, deadline_at) VALUES ({values}, '[]', now())"
                ),
                row,
            )
    finally:
        engine.dispose()
    return row["execution_id"]


def canonical_snapshot(database_url: str) -> dict[str, tuple[int, str]]:
    """Row count and an ordered checksum of every canonical table, by natural keys (no ids, no timestamps),
    so two databases that loaded the same input compare equal."""
    person = "c.name_key, c.draft_year, c.position_group, c.college"
    queries = {
        "prospect_core": f"SELECT concat_ws('|', {person}, c.source_ids::text) FROM prospect_core c",
        "prospect_grades": f"SELECT concat_ws('|', {person}, t.source, t.grade_type, t.grade, t.rank) "
        "FROM prospect_grades t JOIN prospect_core c USING (prospect_id)",
        "prospect_measurements": f"SELECT concat_ws('|', {person}, t.source, t.forty, t.weight_lb, t.height_in) "
        "FROM prospect_measurements t JOIN prospect_core c USING (prospect_id)",
        "prospect_college_stats": f"SELECT concat_ws('|', {person}, t.source, t.season, t.team, t.pass_yds, "
        "t.rush_yds, t.rec_yds) FROM prospect_college_stats t JOIN prospect_core c USING (prospect_id)",
    }
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                table: tuple(  # type: ignore[misc]
                    conn.execute(
                        sa.text(f"SELECT count(*), coalesce(md5(string_agg(k, ',' ORDER BY k)), '') FROM ({sql}) t(k)")
                    ).one()
                )
                for table, sql in queries.items()
            }
    finally:
        engine.dispose()


def scalar(settings: Any, sql: str, **params: Any) -> Any:
    """One value read from the settings' database."""
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar_one()
    finally:
        engine.dispose()
