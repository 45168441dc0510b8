"""Engines, one per process and URL, created on first use (never at import, never shared across fork)."""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg2
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from etl_worker.errors import ConfigurationError, RetriableError
from etl_worker.redact import redact_text, redact_url

_engines: dict[tuple[int, str], Engine] = {}


def dumps(value: object) -> str:
    """JSON for PostgreSQL: non-string keys as strings (as ``json.dumps`` does), text not escaped."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


_lock = threading.Lock()


def get_engine(url: str) -> Engine:
    """This process's engine for ``url``; a forked child gets its own."""
    key = (os.getpid(), url)
    engine = _engines.get(key)
    if engine is None:
        with _lock:
            engine = _engines.get(key)
            if engine is None:
                try:
                    engine = sa.create_engine(
                        url,
                        pool_pre_ping=True,
                        pool_size=2,
                        max_overflow=4,
                        json_serializer=dumps,
                        json_deserializer=orjson.loads,
                    )
                except Exception as exc:
                    raise ConfigurationError(f"bad database URL {redact_url(url)}: {redact_text(str(exc))}") from None
                _engines[key] = engine
    return engine


def dispose_all() -> None:
    """Forget engines inherited from a parent process (call in a freshly forked child)."""
    with _lock:
        for (pid, _), engine in list(_engines.items()):
            if pid != os.getpid():
                engine.dispose(close=False)
        _engines.clear()


_RETRIABLE_SQLSTATES = frozenset({"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006"})


# What the server says when a connection is refused for good: a wrong password or user, a database
# that does not exist, an address it does not accept. libpq reports these without a SQLSTATE.
_REFUSED = ("password authentication failed", "does not exist", "no pg_hba.conf entry", "authentication failed")


def is_refused(exc: BaseException) -> bool:
    """The server refused the connection for a reason that trying again will not change."""
    return isinstance(exc, sa.exc.OperationalError) and any(r in str(exc.orig) for r in _REFUSED)


def is_retriable(exc: BaseException) -> bool:
    """Lost connections, deadlocks and serialization failures pass; trying again can succeed."""
    if isinstance(exc, sa.exc.DBAPIError) and not is_refused(exc):
        if exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError):
            return True
        return getattr(exc.orig, "pgcode", None) in _RETRIABLE_SQLSTATES
    return False


def _raise_translated(exc: sa.exc.DBAPIError) -> None:
    """Raise what a database error surfaces as, if it is one of ours: ``ConfigurationError`` when the
    server refuses the connection for good, ``RetriableError`` for a passing fault."""
    if is_refused(exc):
        raise ConfigurationError(f"the database refused the connection: {_first_line(exc.orig)}") from None
    if is_retriable(exc):
        raise RetriableError(f"database: {_first_line(exc.orig)}") from exc


@contextmanager
def transaction(url: str) -> Iterator[Connection]:
    """One transaction on this process's engine; passing faults surface as ``RetriableError``, a
    connection the server refuses for good as ``ConfigurationError``."""
    try:
        with get_engine(url).begin() as conn:
            yield conn
    except sa.exc.DBAPIError as exc:
        _raise_translated(exc)
        raise


class Notices:
    """Notifications on a LISTENing connection: ``wait`` blocks for the next one; an event loop watches
    ``fileno()`` for readability and calls ``drain``."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def fileno(self) -> int:
        return int(self._conn.fileno())

    def drain(self) -> bool:
        """Read what the server sent without blocking; whether a notification had come."""
        self._conn.poll()
        came = bool(self._conn.notifies)
        self._conn.notifies.clear()
        return came

    def wait(self, seconds: float) -> None:
        """Return when a notification has come since the last wait or drain, or after ``seconds``."""
        if not self._conn.notifies:
            select.select([self], [], [], seconds)
        self.drain()


@contextmanager
def listening(url: str, channel: str) -> Iterator[Notices]:
    """LISTEN on ``channel`` for as long as the block runs, on a connection of its own."""
    try:
        pooled = get_engine(url).raw_connection()
    except sa.exc.DBAPIError as exc:
        _raise_translated(exc)
        raise
    conn = pooled.dbapi_connection
    clean = False
    try:
        conn.autocommit = True  # type: ignore[union-attr]
        with conn.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(f"LISTEN {channel}")
        try:
            yield Notices(conn)
        except psycopg2.OperationalError as exc:  # the connection was lost while waiting
            raise RetriableError(f"database: {_first_line(exc)}") from exc
        with conn.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(f"UNLISTEN {channel}")
        conn.autocommit = False  # type: ignore[union-attr]
        clean = True
    finally:
        if clean:
            pooled.close()
        else:  # it may still listen, or be broken: never hand it back to the pool
            pooled.invalidate()


def check_reachable(url: str) -> None:
    """Raise one readable line when the database cannot be reached."""
    try:
        with get_engine(url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as exc:
        raise ConfigurationError(
            f"cannot reach the database at {redact_url(url)}: {redact_text(_first_line(exc.orig))}"
        ) from None


def _first_line(exc: BaseException | None) -> str:
    return str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else repr(exc)
