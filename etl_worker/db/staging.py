"""SQL for extractions and staging tables: ingest by COPY, counts and key-range batch reads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from etl_worker.db import schema
from etl_worker.db.engine import dumps
from etl_worker.db.schema import extraction_files, extractions
from etl_worker.errors import NotFoundError
from etl_worker.sources import get_source


def staging_table(source: str) -> sa.Table:
    """The staging table of a registered source (never a name built from input)."""
    return schema.staging_table(get_source(source).name)


def ensure_staging_table(conn: Connection, source: str) -> None:
    """Make the staging table of a plug-in source if it is missing (the built-in ones come with the schema)."""
    if source in schema.MIGRATED_STAGING:
        return
    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"staging:{source}"))))
    staging_table(source).create(conn, checkfirst=True)


def ensure_extraction(conn: Connection, extraction_id: str) -> None:
    conn.execute(insert(extractions).values(extraction_id=extraction_id).on_conflict_do_nothing())


def extraction_state(conn: Connection, extraction_id: str, lock: bool = False) -> str:
    """The extraction's state; with ``lock``, its row is held until the transaction ends (``FOR KEY
    SHARE``: staging into it, the extraction cannot go, as a foreign key would hold it per row)."""
    query = sa.select(extractions.c.state).where(extractions.c.extraction_id == extraction_id)
    state = conn.execute(query.with_for_update(read=True, key_share=True) if lock else query).scalar_one_or_none()
    if state is None:
        raise NotFoundError(f"extraction {extraction_id} does not exist")
    return state


def never_run(conn: Connection, settle_seconds: int) -> list[str]:
    """Staged extractions with no execution at all, whose last file came in ``settle_seconds`` ago or more."""
    sql = """
        SELECT e.extraction_id FROM extractions e
        WHERE e.state = 'staged'
          AND NOT EXISTS (SELECT 1 FROM etl_executions x WHERE x.extraction_id = e.extraction_id)
          AND (SELECT max(f.ingested_at) FROM extraction_files f WHERE f.extraction_id = e.extraction_id)
              <= now() - make_interval(secs => :settle)
        ORDER BY e.created_at
    """
    return [str(r[0]) for r in conn.execute(sa.text(sql), {"settle": settle_seconds})]


class _Stream(io.RawIOBase):
    """A file-like view of byte chunks, so COPY streams without holding its input in memory."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while len(self._buffer) < len(target):
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        del self._buffer[:size]
        return size


CHUNK_ROWS = 1000


def _csv_chunks(rows: Iterable[tuple[Any, ...]], json_positions: tuple[int, ...]) -> Iterator[bytes]:
    """Rows rendered as CSV a chunk at a time; values at ``json_positions`` are dumped as JSON."""
    text = io.StringIO()
    # The csv module quotes a field holding a character of the line terminator: with "\r\n" a field
    # holding a lone "\r" is quoted too (with "\n" it was written bare, and COPY refused the batch).
    writer = csv.writer(text, lineterminator="\r\n")

    def render(row: tuple[Any, ...]) -> list[Any]:
        cells = list(row)
        for i in json_positions:
            if cells[i] is not None:
                cells[i] = dumps(cells[i])
        return cells

    rows = iter(rows)
    while chunk := list(islice(rows, CHUNK_ROWS)):
        text.seek(0)
        text.truncate()
        writer.writerows(map(render, chunk) if json_positions else chunk)
        yield text.getvalue().encode()


def _copy(conn: Connection, sql: str, chunks: Iterable[bytes]) -> int:
    """Run a COPY ... FROM STDIN of ``chunks``; returns the rows the server says it stored."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.copy_expert(sql, io.BufferedReader(_Stream(chunks), buffer_size=1 << 16))
        return int(cursor.rowcount)
    finally:
        cursor.close()


def copy_rows(conn: Connection, table: sa.Table, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """COPY rows (tuples in ``columns`` order, None for NULL) into ``table`` through psycopg2."""
    json_positions = tuple(i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON))
    names = ", ".join(columns)
    _copy(
        conn,
        f"COPY {table.name} ({names}) FROM STDIN WITH (FORMAT csv, FORCE_NULL ({names}))",
        _csv_chunks(rows, json_positions),
    )


def replace_staging(
    conn: Connection, source: str, extraction_id: str, header: list[str], records: Iterable[list[str]]
) -> int:
    """Replace the extraction's staging rows for ``source`` with ``records`` (fields in ``header``'s
    order, each kept as a JSON object of column -> text); returns how many rows the server stored."""
    table = staging_table(source)
    conn.execute(sa.delete(table).where(table.c.extraction_id == extraction_id))

    def chunks() -> Iterator[bytes]:
        # COPY's text format: the JSON is the row's last field, so only its backslashes need escaping
        # (JSON escapes tabs and newlines in strings; an id and a number hold none).
        prefix = extraction_id.encode() + b"\t"
        numbered = enumerate(records, start=1)
        while chunk := list(islice(numbered, CHUNK_ROWS)):
            lines = [
                b"%s%d\t%s\n" % (prefix, number, orjson.dumps(dict(zip(header, fields, strict=True))))
                for number, fields in chunk
            ]
            yield b"".join(lines).replace(b"\\", b"\\\\")

    return _copy(conn, f"COPY {table.name} (extraction_id, row_number, record) FROM STDIN", chunks())


def record_file(
    conn: Connection,
    extraction_id: str,
    source: str,
    filename: str,
    sha256: str,
    *,
    records_staged: int,
    lines_read: int,
    blank_lines: int,
    records_rejected: int,
    rejected: list[dict[str, Any]],
) -> None:
    """What one staged file held: its records staged and rejected, and every line read."""
    values = {
        "filename": filename,
        "sha256": sha256,
        "row_count": records_staged,
        "lines_read": lines_read,
        "blank_lines": blank_lines,
        "records_rejected": records_rejected,
        "rejected": rejected,
    }
    stmt = insert(extraction_files).values(extraction_id=extraction_id, source=source, **values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["extraction_id", "source"], set_={**values, "ingested_at": sa.func.now()}
        )
    )


def staging_counts(conn: Connection, extraction_id: str, sources: Iterable[str]) -> dict[str, tuple[int, int, int]]:
    """Per source: (row count, lowest row number, highest row number) staged for the extraction."""
    counts = {}
    for source in sources:
        table = staging_table(source)
        row = conn.execute(
            sa.select(sa.func.count(), sa.func.min(table.c.row_number), sa.func.max(table.c.row_number)).where(
                table.c.extraction_id == extraction_id
            )
        ).one()
        counts[source] = (int(row[0]), int(row[1] or 0), int(row[2] or 0))
    return counts


def read_batch(conn: Connection, source: str, extraction_id: str, row_lo: int, row_hi: int) -> list[tuple[int, dict]]:
    """Staging rows ``row_lo``..``row_hi`` of one source, by key range (no OFFSET scans)."""
    table = staging_table(source)
    result = conn.execute(
        sa.select(table.c.row_number, table.c.record)
        .where(table.c.extraction_id == extraction_id, table.c.row_number.between(row_lo, row_hi))
        .order_by(table.c.row_number)
    )
    return [(int(r[0]), r[1]) for r in result]
