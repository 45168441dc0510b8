"""The pipeline's phases as plain functions: no Celery here, only settings, ids and the database layer."""
