"""Root's embedded PostgreSQL data directory has a name anyone can guess (under /var/tmp): one another
user made first, as a link or a directory of their own, is refused before pgserver runs initdb or chown."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from etl_worker.embedded import EmbeddedServers
from etl_worker.errors import ConfigurationError
from tests.helpers import NOBODY, as_user


@pytest.fixture
def servers() -> Iterator[EmbeddedServers]:
    if os.geteuid() != 0:
        pytest.skip("needs root: only root's data directory lives outside ETL_HOME (CI runs as root)")
    home = Path(tempfile.mkdtemp(prefix="etl-home-"))
    embedded = EmbeddedServers(home)
    assert embedded.postgres_dir.parent == Path("/var/tmp")
    yield embedded
    if embedded.postgres_dir.is_symlink():
        embedded.postgres_dir.unlink()
    shutil.rmtree(embedded.postgres_dir, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def target() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="etl-target-"))  # root's, 0700
    yield directory
    shutil.rmtree(directory)


def test_a_planted_link_is_refused_and_its_target_untouched(servers, target):
    with as_user(NOBODY):
        os.symlink(target, servers.postgres_dir)
    with pytest.raises(ConfigurationError, match="is a symbolic link: someone else may have made it"):
        servers.start()
    info = target.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode), os.listdir(target)) == (0, 0o700, [])


def test_a_directory_another_user_made_is_refused(servers):
    with as_user(NOBODY):
        os.mkdir(servers.postgres_dir, 0o777)
    with pytest.raises(ConfigurationError, match="belongs to uid 65534, not root or pgserver"):
        servers.start()
    assert os.listdir(servers.postgres_dir) == []
