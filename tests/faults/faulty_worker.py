"""``etl-worker`` with fault hooks, for the fault-injection tests only: ``python -m tests.faults.faulty_worker ...``.

Hooks are armed by files in ``$ETL_TEST_FAULTS``; a file is claimed (renamed away) by the first task that
sees it, so a fault happens once and the redelivered task runs clean:

- ``transform_hang``: the first transform batch writes its pid to ``victim.pid`` and sleeps for the
  number of seconds in the file (long enough to be killed).
- ``merge_hang``: the first merge part writes its pid to ``victim.pid`` and sleeps for the number of
  seconds in the file.
- ``load_exit_after_commit``: the first load commits, then its process exits before the task is acked.
- ``load_poison`` (never claimed): every load of the extraction named in the file kills its process.
- ``transform_duplicate``: the first transform batch publishes a second copy of its own message (same
  task id, same chord), as the broker does when a task outlives the visibility timeout, and keeps
  running while the copy runs too.
- ``load_duplicate``: the first load publishes a second copy of its own message and holds its transaction
  open for 2 s, so the two copies load at the same time.
- ``transform_retriable_error`` (never claimed): every transform batch of the source named in the file
  fails with a passing (retriable) error, on every try.
- ``validate_error`` (never claimed): while the file exists, validate fails with its text as the error.
- ``pg_hold_transform`` / ``pg_hold_load``: inside its transaction, the first transform batch (load)
  writes its PostgreSQL backend pid to ``<name>.pid`` (its own to ``<name>.os_pid``) and waits for
  ``<name>.go`` (the test terminates that backend, or kills the process, in between).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

FAULTS = Path(os.environ["ETL_TEST_FAULTS"])


def _claim(name: str) -> str | None:
    try:
        claimed = FAULTS / f"{name}.claimed.{os.getpid()}"
        (FAULTS / name).rename(claimed)
        return claimed.read_text()
    except FileNotFoundError:
        return None


def _hold(name: str, conn: Any) -> None:
    if _claim(name) is None:
        return
    (FAULTS / f"{name}.os_pid").write_text(str(os.getpid()))
    (FAULTS / f"{name}.pid").write_text(str(conn.connection.dbapi_connection.get_backend_pid()))
    until = time.monotonic() + 30
    while not (FAULTS / f"{name}.go").exists() and time.monotonic() < until:
        time.sleep(0.05)


def install() -> None:
    from celery import current_task
    from celery.exceptions import SoftTimeLimitExceeded

    from etl_worker.db import canonical, work
    from etl_worker.errors import RetriableError
    from etl_worker.phases import load, merge, transform, validate

    original_transform, original_load, original_validate = transform.transform, load.load, validate.validate
    original_merge_part = merge.merge_part

    def hanging_merge_part(*args: Any, **kwargs: Any) -> Any:
        seconds = _claim("merge_hang")
        if seconds is not None:
            (FAULTS / "victim.pid").write_text(str(os.getpid()))
            time.sleep(float(seconds))
        return original_merge_part(*args, **kwargs)

    def failing_validate(*args: Any, **kwargs: Any) -> Any:
        broken = FAULTS / "validate_error"
        if broken.exists():
            raise RuntimeError(broken.read_text())
        return original_validate(*args, **kwargs)

    def hanging_transform(*args: Any, **kwargs: Any) -> Any:
        if _claim("transform_duplicate") is not None:
            task = current_task
            task.signature_from_request(task.request).apply_async()
            (FAULTS / "duplicated").write_text(task.request.id)
            time.sleep(2)
        failing = FAULTS / "transform_retriable_error"
        if failing.exists() and failing.read_text() == args[2].source:
            raise RetriableError(f"injected: {args[2].source} keeps failing")
        seconds = _claim("transform_hang")
        if seconds is not None:
            (FAULTS / "victim.pid").write_text(str(os.getpid()))
            until = time.monotonic() + float(seconds)
            while time.monotonic() < until:  # stuck for good: only a kill or the hard time limit ends it
                try:
                    time.sleep(0.1)
                except SoftTimeLimitExceeded:
                    pass
        return original_transform(*args, **kwargs)

    def exiting_load(*args: Any, **kwargs: Any) -> Any:
        poison = FAULTS / "load_poison"
        if poison.exists() and poison.read_text() == args[1].extraction_id:
            os._exit(1)
        result = original_load(*args, **kwargs)
        if _claim("load_exit_after_commit") is not None:
            os._exit(1)  # committed, not acked: the broker redelivers the load
        return result

    original_replace, original_load_canonical = work.replace_batch, canonical.load_canonical

    def held_replace(conn: Any, *args: Any, **kwargs: Any) -> Any:
        _hold("pg_hold_transform", conn)
        return original_replace(conn, *args, **kwargs)

    def held_load(conn: Any, *args: Any, **kwargs: Any) -> Any:
        _hold("pg_hold_load", conn)
        if _claim("load_duplicate") is not None:
            current_task.signature_from_request(current_task.request).apply_async()
            time.sleep(2)
        return original_load_canonical(conn, *args, **kwargs)

    transform.transform = hanging_transform
    merge.merge_part = hanging_merge_part
    validate.validate = failing_validate
    load.load = exiting_load
    work.replace_batch = held_replace
    canonical.load_canonical = held_load


if __name__ == "__main__":
    install()
    from etl_worker.cli import main

    main()
