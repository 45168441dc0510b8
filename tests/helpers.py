"""Helpers shared by the integration and end-to-end tests: waiting, staging fixtures, real processes."""

from __future__ import annotations

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


def stage_fixtures(settings: Any, sources: tuple[str, ...] = ("pff", "cfr", "nfl", "yahoo")) -> str:
    from etl_worker.ingest import ingest_file

    extraction_id = None
    for source in sources:
        extraction_id, _ = ingest_file(settings, source, FIXTURES / f"{source}.csv", extraction_id)
    assert extraction_id is not None
    return extraction_id


CANONICAL = ("prospect_core", "prospect_grades", "prospect_measurements", "prospect_college_stats")


def canonical_snapshot(database_url: str) -> dict[str, tuple[int, str]]:
    """Row count and an ordered checksum of every canonical table (ids and timestamps left out)."""
    keys = {
        "prospect_core": "match_key",
        "prospect_grades": "source, grade_type, grade, rank, prospect_id",
        "prospect_measurements": "source, prospect_id, forty, weight_lb",
        "prospect_college_stats": "source, prospect_id, season, team, pass_yds, rush_yds, rec_yds",
    }
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                table: tuple(  # type: ignore[misc]
                    conn.execute(
                        sa.text(
                            f"SELECT count(*), coalesce(md5(string_agg(k, ',' ORDER BY k)), '') "
                            f"FROM (SELECT concat_ws('|', {cols}) AS k FROM {table}) t"
                        )
                    ).one()
                )
                for table, cols in keys.items()
            }
    finally:
        engine.dispose()
