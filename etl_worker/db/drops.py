"""SQL for the drop folder: which file contents were taken, and what became of them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from etl_worker.db.schema import dropped_files

# A claim still "taking" after this long belongs to a watcher that died mid-ingest: it may be retaken.
STALE_CLAIM = "10 minutes"


def claim(
    conn: Connection, sha256: str, filename: str, source: str | None, status: str, message: str | None
) -> int | None:
    """Take a file's content for this watcher: the how-many-th claim this is, None when taken before.

    A claim still ``taking`` after ``STALE_CLAIM`` belongs to a watcher that died with the file, so it
    is claimed again (the count tells the caller whether the file was already retaken once); so is a
    content once rejected for having no source (its name was wrong, not its bytes).
    """
    d = dropped_files.c
    stmt = insert(dropped_files).values(sha256=sha256, filename=filename, source=source, status=status, message=message)
    stmt = stmt.on_conflict_do_update(
        index_elements=["sha256"],
        set_={
            "filename": filename,
            "source": source,
            "status": status,
            "message": message,
            "seen_at": sa.func.now(),
            "attempts": d.attempts + 1,
        },
        where=sa.or_(
            sa.and_(d.status == "taking", d.seen_at < sa.func.now() - sa.text(f"interval '{STALE_CLAIM}'")),
            sa.and_(d.status == "rejected", d.source.is_(None)),  # rejected for its name, not its content
        ),
    )
    return conn.execute(stmt.returning(d.attempts)).scalar_one_or_none()


def settle(conn: Connection, sha256: str, **values: Any) -> None:
    """Record the outcome of a taken file: enqueued (with its extraction and execution) or rejected."""
    conn.execute(sa.update(dropped_files).where(dropped_files.c.sha256 == sha256).values(**values))


def taken(conn: Connection, sha256: str) -> dict[str, Any] | None:
    row = conn.execute(sa.select(dropped_files).where(dropped_files.c.sha256 == sha256)).first()
    return dict(row._mapping) if row is not None else None
