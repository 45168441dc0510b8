"""The one Celery app of etl_worker. Engines are per worker process, created on first use."""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from celery import Celery, Task
from celery.exceptions import Ignore, Reject, Retry
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_process_shutdown,
)

from etl_worker import observe, redact
from etl_worker.db.engine import dispose_all
from etl_worker.errors import TaskError
from etl_worker.settings import Settings

log = logging.getLogger(__name__)


@functools.cache
def settings() -> Settings:
    """This process's settings, read once from the environment."""
    return Settings.from_env()


class RedactedTask(Task):  # type: ignore[misc]
    """Every task of the app: an exception that escapes it is stored in the result backend (and shown
    by Flower) with the URLs in its message redacted."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except (Retry, Ignore, Reject):
            raise
        except Exception as exc:
            shown = redact.redact_text(str(exc))
            if shown == str(exc):
                raise
            raise TaskError(f"{type(exc).__name__}: {shown}") from None


app = Celery("etl_worker", include=["etl_worker.tasks"], task_cls=RedactedTask)
# The top-level module ``celeryconfig`` (shipped with the package), or the one ``--config`` names.
app.config_from_object(os.environ.get("CELERY_CONFIG_MODULE", "celeryconfig"))


@worker_process_init.connect
def _fresh_process(**_: object) -> None:
    # A forked pool child must not reuse the parent's database connections.
    dispose_all()
    observe.start_tracing("etl_worker")


@worker_process_shutdown.connect
def _flush_traces(**_: object) -> None:
    observe.stop_tracing()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _logs(logger: logging.Logger, **_: object) -> None:
    redact.install(logger)
    observe.install(logger, settings().log_format)


_bound: dict[str, Any] = {}  # task id -> the token of its fields


@task_prerun.connect
def _bind_task(task_id: str, task: Task, args: Any = (), kwargs: Any = None, **_: object) -> None:
    _bound[task_id] = observe.bind(observe.task_fields(task.name, task_id, task.request.hostname, args or (), kwargs))


@task_postrun.connect
def _unbind_task(task_id: str, **_: object) -> None:
    token = _bound.pop(task_id, None)
    if token is not None:
        observe.unbind(token)
