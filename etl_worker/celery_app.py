"""The one Celery app of etl_worker. Engines are per worker process, created on first use."""

from __future__ import annotations

import functools
import logging

from celery import Celery
from celery.signals import worker_process_init

from etl_worker.celeryconfig import celery_config
from etl_worker.db.engine import dispose_all
from etl_worker.settings import Settings

log = logging.getLogger(__name__)


@functools.cache
def settings() -> Settings:
    """This process's settings, read once from the environment."""
    return Settings.from_env()


app = Celery("etl_worker", include=["etl_worker.tasks"])
app.conf.update(celery_config(settings()))


@worker_process_init.connect
def _fresh_engines(**_: object) -> None:
    # A forked pool child must not reuse the parent's database connections.
    dispose_all()
