"""Helpers shared by the integration and end-to-end tests: waiting, staging fixtures, real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    """Row count and an ordered checksum of every canonical table, every column but ids, match keys and
    timestamps, facts by their person's natural key, so two databases that loaded the same input compare
    equal (ordered byte-wise: the same on any collation)."""
    person = "concat_ws('|', c.name_key, c.draft_year, c.position_group, c.college)"
    fact = "(to_jsonb(t) - 'id' - 'prospect_id' - 'updated_at')::text"
    queries = {
        "prospect_core": "SELECT (to_jsonb(c) - 'prospect_id' - 'match_key' - 'created_at' - 'updated_at')::text "
        "FROM prospect_core c",
        **{
            table: f"SELECT {person} || '|' || {fact} FROM {table} t JOIN prospect_core c USING (prospect_id)"
            for table in ("prospect_grades", "prospect_measurements", "prospect_college_stats")
        },
    }
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                table: tuple(  # type: ignore[misc]
                    conn.execute(
                        sa.text(
                            "SELECT count(*), coalesce(md5(string_agg(k, ',' ORDER BY k COLLATE \"C\")), '') "
                            f"FROM ({sql}) t(k)"
                        )
                    ).one()
                )
                for table, sql in queries.items()
            }
    finally:
        engine.dispose()


def execute(database_url: str, sql: str) -> None:
    """Run SQL (statements separated by ;) on a database in one transaction."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql))
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


@contextmanager
def watching(drop: Path, database_url: str) -> Iterator[Path]:
    """A real ``etl-worker watch`` process on ``drop`` for the block; yields the file its output goes to."""
    out = drop.parent / f"{drop.name}-watch.log"
    with out.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "etl_worker.cli", "watch", str(drop), "--interval", "0.2"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ETL_DATABASE_URL": database_url, "COLUMNS": "400"},
        )
    try:
        yield out
    finally:
        proc.terminate()
        proc.wait(30)


NOBODY = 65534  # the second user of the tests that need one (they run as root, as CI does)


@contextmanager
def as_user(uid: int) -> Iterator[None]:
    """Act as another user (effective ids; the real id stays root so it can switch back)."""
    os.setegid(uid)
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
