"""Celery's conventional config module, for tools that look for one (``celery --config celeryconfig``).

It holds no settings of its own: everything comes from ``ETL_*`` environment variables through
``etl_worker.settings.Settings``.
"""

from etl_worker.celeryconfig import celery_config
from etl_worker.settings import Settings

globals().update(celery_config(Settings.from_env()))
