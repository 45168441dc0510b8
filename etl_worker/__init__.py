"""etl_worker: a distributed ETL orchestrator for NFL draft-prospect data.

Producers stage source exports and call ``run_extraction.delay(extraction_id)``; Celery workers run
extract -> transform (fanned out per source and batch) -> validate -> merge -> load -> publish, and
PostgreSQL keeps the canonical tables and every execution record.
"""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``celery -A etl_worker`` finds the app here; importing the package alone does not load Celery."""
    if name == "app":
        from etl_worker.celery_app import app

        return app
    raise AttributeError(f"module 'etl_worker' has no attribute {name!r}")
