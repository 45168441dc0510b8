"""The ``etl-worker`` command group and what every command shares: one readable line instead of a
traceback, settings, ids by prefix, tables and JSON."""

from __future__ import annotations

import functools
import getpass
import json
import logging
import socket
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import redis
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from etl_worker import observe, redact
from etl_worker.display import cell
from etl_worker.errors import ConfigurationError, ETLError, RetriableError
from etl_worker.redact import redact_url
from etl_worker.settings import Settings

console = Console()
err_console = Console(stderr=True)
_service_log = logging.getLogger("etl_worker.service")
_service_log.setLevel(logging.INFO)  # what a service says of itself shows whatever the root level
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {cell(redact.redact_text(message))}", highlight=False, soft_wrap=True)
    sys.exit(1)


_MISSING_SCHEMA = ("42P01", "42703")  # undefined table, undefined column


def friendly(func: F) -> F:
    """One readable line, not a traceback, for a user mistake or an unreachable server."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RetriableError as exc:
            fail(f"{exc} (database {redact_url(Settings.from_env().database_url)})")
        except ETLError as exc:
            fail(str(exc))
        except sa.exc.OperationalError as exc:
            url = redact_url(Settings.from_env().database_url)
            fail(f"cannot reach the database at {url}: {str(exc.orig).strip().splitlines()[0]}")
        except sa.exc.ProgrammingError as exc:
            if getattr(exc.orig, "pgcode", None) not in _MISSING_SCHEMA:
                raise
            url = redact_url(Settings.from_env().database_url)
            fail(f"the database at {url} lacks tables or columns this version needs: run `etl-worker db upgrade`")
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            settings = Settings.from_env()
            fail(f"cannot reach the broker at {redact_url(settings.broker_url)}: {exc}")

    return wrapper  # type: ignore[return-value]


def operator() -> str:
    """Who runs this command, as recorded with what it starts, cancels or decides: user@host."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigurationError as exc:
        fail(str(exc))
        raise


def full_id(kind: str, value: str) -> str:
    """The full execution or extraction id that ``value`` names: the id, or a unique prefix of it."""
    from etl_worker.tracking.history import resolve_id

    return resolve_id(load_settings(), kind, value)


def add_row(table: Table, *values: object) -> None:
    """A table row of values from data: escaped, never read as markup."""
    table.add_row(*(cell(v) for v in values))


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what the library does.")
def main(verbose: bool) -> None:
    """etl_worker: a distributed ETL orchestrator for NFL draft-prospect data."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format=observe.TEXT_FORMAT)
    redact.install()
    try:
        log_format = Settings.from_env().log_format
    except ETLError:
        log_format = "text"  # the command reports the setting that is wrong, in one line
    observe.install(logging.getLogger(), log_format)


def warn(message: str) -> None:
    """One line on stderr that the user should act on, while the command goes on."""
    err_console.print(f"[bold yellow]warning:[/] {cell(redact.redact_text(message))}", highlight=False, soft_wrap=True)


def say(message: str, to_stderr: bool = True, **fields: object) -> None:
    """What a long-running service (listener, beat, watcher, console) says: a plain line, or with
    ETL_LOG_FORMAT=json a log record like every other, with ``fields`` as its own keys."""
    if observe.json_logs():
        _service_log.info(message, extra={k: v for k, v in fields.items() if v is not None})
    else:
        (err_console if to_stderr else console).print(cell(message), highlight=False, soft_wrap=True)
