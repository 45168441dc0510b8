"""etl_worker: a distributed ETL orchestrator for NFL draft-prospect data.

Producers stage source exports and call ``run_extraction.delay(extraction_id)``; Celery workers run
extract -> transform (fanned out per source and batch) -> validate -> merge -> load -> publish, and
PostgreSQL keeps the canonical tables and every execution record.
"""

__version__ = "0.1.0"
