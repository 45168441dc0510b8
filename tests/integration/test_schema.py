"""The Alembic migrations build exactly the declared schema, and go down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from etl_worker.db.canonical import VIEWS
from etl_worker.db.migrate import downgrade, upgrade
from etl_worker.db.schema import metadata


def test_migrations_match_the_declared_metadata(database_url):
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        views = set(conn.execute(sa.text("SELECT matviewname FROM pg_matviews")).scalars())
    engine.dispose()
    assert diff == []
    assert views == set(VIEWS)


def test_downgrade_and_upgrade_round_trip(database_url):
    downgrade(database_url, "base")
    upgrade(database_url)
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []
