"""Schema migrations through Alembic, driven from code so every process uses the same URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from etl_worker.db import staging
from etl_worker.db.engine import check_reachable, get_engine, transaction
from etl_worker.errors import ConfigurationError
from etl_worker.sources import registry

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database's schema up to ``revision``."""
    check_reachable(database_url)
    command.upgrade(alembic_config(database_url), revision)
    if revision == "head":  # and the staging tables of the plug-in sources installed here
        with transaction(database_url) as conn:
            for source in registry():
                staging.ensure_staging_table(conn, source)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def check_current(database_url: str) -> None:
    """Refuse, in one line, a database whose schema is not the one this version of etl_worker needs."""
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    with get_engine(database_url).connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        raise ConfigurationError(
            f"the database schema is at revision {current or 'none'}, this version needs {head}: "
            "run `etl-worker db upgrade`"
        )
