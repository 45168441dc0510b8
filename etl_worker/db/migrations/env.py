"""Alembic environment: the URL comes from the caller (``etl_worker.db.migrate``), never from a file."""

from __future__ import annotations

from alembic import context

from etl_worker.db.engine import get_engine
from etl_worker.db.schema import metadata

config = context.config
url = config.attributes["database_url"]

with get_engine(url).connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
