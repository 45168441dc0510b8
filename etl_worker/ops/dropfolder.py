"""The drop folder: export files that appear in a directory are staged and run, each content once.

A file is taken once its size and modification time held still between two looks (a file still being
copied in is left for the next look). A file that cannot be staged (no source in its name, a malformed
export) is moved to ``rejected/`` with a ``.reason`` file beside it. Its content is claimed by checksum in PostgreSQL before
anything else, so the same export under another name, or a second watcher on the same folder, takes
nothing twice. The source comes from the file name (``nfl_combine_2021.csv`` is an NFL export) or, when the
name does not say, from the header: the one source whose required columns it has.

The folder may be shared with people the watcher does not trust (a 1777 inbox). Everything is done
relative to the folder's open directory: a file is opened without following a symbolic link and read
from that one open file; a symbolic link or anything but a regular file is rejected, never followed;
``rejected/`` is used only when it is a real directory of the watcher's own user that no one else can
write to, and nothing is written there over an existing name. Names are bytes: they are shown, logged
and recorded with any byte that is not UTF-8 escaped (``pff_\\xff.csv``).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import logging
import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from etl_worker.db import drops
from etl_worker.db.engine import transaction
from etl_worker.display import printable
from etl_worker.errors import ETLError, RetriableError
from etl_worker.ingest import ingest_file
from etl_worker.pipeline import run_signature
from etl_worker.redact import redact_text
from etl_worker.settings import Settings
from etl_worker.sources import registry, sources_with_header

log = logging.getLogger(__name__)

REJECTED = "rejected"
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def source_for(filename: str) -> str | None:
    """The source a file name starts with (``pff``, ``pff_2021.csv``, ``pff-grades.csv``), if any."""
    name = filename.lower()
    for source in registry():
        if name == source or any(name.startswith(source + sep) for sep in "_-. "):
            return source
    return None


@dataclass(frozen=True)
class Outcome:
    """What became of one file: taken (staged and enqueued), staged (enqueue failed: beat will start it),
    skipped (content seen before, or not readable yet), deferred (the database was unreachable: tried
    again next look) or rejected (moved to ``rejected/`` with a ``.reason`` file beside it)."""

    path: Path
    status: str
    message: str
    extraction_id: str | None = None
    execution_id: str | None = None

    @property
    def name(self) -> str:
        """The file's name as it may be shown, logged or stored (bytes that are not UTF-8 escaped)."""
        return printable(self.path.name)


class _Refused(Exception):
    """``rejected/`` cannot be trusted: the rejected file stays where it is."""


class DropFolder:
    """Watches one directory. Nothing a file holds, or is named, stops it: each file ends taken, skipped
    or rejected."""

    def __init__(self, settings: Settings, directory: Path) -> None:
        self.settings = settings
        self.directory = directory
        self.rejected_dir = directory / REJECTED
        self.seen: dict[str, tuple[int, ...]] = {}  # what each name's entry looked like at the last look
        self.done: dict[str, tuple[int, ...]] = {}  # ... when the file was handled
        self.claimed: set[str] = set()  # checksums this watcher holds as "taking"

    def poll(self) -> list[Outcome]:
        """Look once; handle the files that held still since the last look."""
        try:
            folder = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            log.warning("cannot look in %s: %s", printable(self.directory), exc.strerror or exc)
            return []
        try:
            names = self._names(folder)
            for gone in set(self.seen) - set(names):  # a long-running watcher keeps no names of files long gone
                self.seen.pop(gone)
                self.done.pop(gone, None)
            outcomes = (self._look(folder, name) for name in names)
            return [outcome for outcome in outcomes if outcome is not None]
        finally:
            os.close(folder)

    @staticmethod
    def _names(folder: int) -> list[str]:
        with os.scandir(folder) as entries:
            return sorted(entry.name for entry in entries if not entry.name.startswith(".") and entry.name != REJECTED)

    def _look(self, folder: int, name: str) -> Outcome | None:
        try:
            info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except OSError:  # gone between the listing and the look
            return None
        if stat.S_ISDIR(info.st_mode):
            return None
        # A change of content, owner or mode (a file made readable) changes ctime: the file is looked at again.
        signature = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        still = self.seen.get(name) == signature
        self.seen[name] = signature
        if not still or self.done.get(name) == signature:
            return None
        self.done[name] = signature
        outcome = self.take(folder, name, info)
        if outcome.status == "deferred":
            del self.done[name]
        return outcome

    def take(self, folder: int, name: str, info: os.stat_result) -> Outcome:
        path = self.directory / name
        only = "the watcher takes only regular files in the folder itself"
        if not stat.S_ISREG(info.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
            return self._reject(folder, path, f"{kind}: {only}")
        try:
            fd = os.open(name, _OPEN_FILE, dir_fd=folder)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # replaced by a symbolic link since the look
                return self._reject(folder, path, f"a symbolic link: {only}")
            if exc.errno == errno.ENOENT:
                return Outcome(path, "skipped", "gone before it could be read")
            return Outcome(path, "skipped", f"could not be read ({exc.strerror or exc}): taken once it can be read")
        with os.fdopen(fd, "rb") as held:
            now = os.fstat(held.fileno())
            if (now.st_ino, now.st_size, now.st_mtime_ns) != (info.st_ino, info.st_size, info.st_mtime_ns):
                return Outcome(path, "deferred", "changed while it was being taken; taken once it holds still")
            return self._take_open(folder, path, held)

    def _take_open(self, folder: int, path: Path, held: io.BufferedReader) -> Outcome:
        """Take a regular file from the open file ``held``: claim its content, stage it, enqueue its run."""
        checksum = hashlib.file_digest(held, "sha256").hexdigest()
        source, decided, unknown = self._source_of(path, _reopen(held))
        if source is None:  # about the name, not the content: the same bytes under a good name are taken
            return self._reject(folder, path, unknown)
        name = printable(path.name)
        try:
            with transaction(self.settings.database_url) as conn:
                claimed = drops.claim(conn, checksum, name, source, "taking", None)
                earlier = None if claimed or checksum in self.claimed else drops.taken(conn, checksum)
        except RetriableError as exc:
            return Outcome(path, "deferred", f"{exc}; trying again at the next look")
        if earlier is not None:
            why = f": {earlier['message']}" if earlier["status"] == "rejected" and earlier["message"] else ""
            return Outcome(path, "skipped", f"same content as {earlier['filename']}, {earlier['status']} before{why}")
        if claimed is not None and claimed > 2:
            return self._reject(folder, path, "a watcher stopped twice while taking this file", checksum)
        self.claimed.add(checksum)
        try:
            staged = ingest_file(self.settings, source, path, opener=lambda: _reopen(held))
        except RetriableError as exc:
            return Outcome(path, "deferred", f"{exc}; trying again at the next look")
        except ETLError as exc:
            return self._reject(folder, path, str(exc), checksum)
        except Exception as exc:  # a file must never stop the watcher
            log.exception("unexpected error taking a dropped file")
            return self._reject(folder, path, f"{type(exc).__name__}: {redact_text(str(exc))}", checksum)
        extraction_id, rows = staged.extraction_id, staged.rows
        execution_id = str(uuid.uuid4())
        try:
            run_signature(extraction_id, execution_id, [source]).apply_async()
        except Exception as exc:
            message = (
                f"{rows:,} {source} rows staged; the run could not be enqueued ({type(exc).__name__}), beat starts it"
            )
            self._settle(checksum, status="staged", message=message, extraction_id=extraction_id)
            return Outcome(path, "staged", message, extraction_id)
        self._settle(checksum, status="enqueued", extraction_id=extraction_id, execution_id=execution_id)
        return Outcome(path, "taken", f"{rows:,} {source} rows ({decided})", extraction_id, execution_id)

    @staticmethod
    def _source_of(path: Path, content: BinaryIO | None = None) -> tuple[str | None, str, str]:
        """The file's source and which rule decided it: its name, else its header (the one source whose
        required columns it has); or None and why not. The header is read from ``content`` (by default
        the file at ``path``)."""
        source = source_for(path.name)
        if source is not None:
            return source, "source from the file name", ""
        try:
            with content if content is not None else path.open("rb") as raw:
                line = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="").readline(1 << 16)
            header = next(csv.reader([line]), [])
        except OSError:
            header = []
        fitting = sources_with_header(header)
        if len(fitting) == 1:
            return fitting[0], "source from the header", ""
        if fitting:
            return None, "", f"the header fits several sources ({', '.join(fitting)}): start the file name with one"
        return (
            None,
            "",
            (
                f"no source in the file name or the header: start the name with one of {', '.join(registry())}, "
                "or give the file a source's required columns"
            ),
        )

    def _settle(self, checksum: str, **values: object) -> None:
        with transaction(self.settings.database_url) as conn:
            drops.settle(conn, checksum, **values)
        self.claimed.discard(checksum)

    def _reject(self, folder: int, path: Path, reason: str, checksum: str | None = None) -> Outcome:
        """Move the file to ``rejected/`` with a ``.reason`` file beside it, and record why. With a
        checksum the rejection is of the content: the same bytes are not taken again."""
        if checksum is not None:
            self._settle(checksum, status="rejected", message=reason)
        try:
            with _rejected(folder) as into:
                target = _free_name(into, path.name)
                os.rename(path.name, target, src_dir_fd=folder, dst_dir_fd=into)
                reason_fd = os.open(
                    target + ".reason",
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                    0o644,
                    dir_fd=into,
                )
                with os.fdopen(reason_fd, "w", encoding="utf-8") as note:
                    note.write(printable(reason) + "\n")
        except _Refused as exc:
            log.warning("%s: %s stays in the folder", exc, printable(path.name))
            return Outcome(path, "rejected", f"{reason} (it stays here: {exc})")
        except OSError as exc:
            log.warning("could not move a rejected file to %s: %s", printable(self.rejected_dir), exc.strerror or exc)
            return Outcome(path, "rejected", reason)
        return Outcome(path, "rejected", f"{reason} (moved to {REJECTED}/{printable(target)})")


def _reopen(held: io.BufferedReader) -> io.BufferedReader:
    """The held file again from its start, as a file of its own (closing it leaves ``held`` open)."""
    again = os.fdopen(os.dup(held.fileno()), "rb")
    again.seek(0)
    return again


@contextmanager
def _rejected(folder: int) -> Iterator[int]:
    """``rejected/`` in the folder, open; made if missing. Refused when it is a symbolic link, not a
    directory, another user's, or writable by anyone else: what goes in there is never written elsewhere."""
    try:
        into = os.open(REJECTED, _OPEN_DIR, dir_fd=folder)
    except FileNotFoundError:
        os.mkdir(REJECTED, 0o755, dir_fd=folder)
        into = os.open(REJECTED, _OPEN_DIR, dir_fd=folder)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            link = stat.S_ISLNK(os.stat(REJECTED, dir_fd=folder, follow_symlinks=False).st_mode)
            raise _Refused(f"{REJECTED}/ is {'a symbolic link' if link else 'not a directory'}") from None
        raise
    try:
        info = os.fstat(into)
        if info.st_uid != os.geteuid():
            raise _Refused(f"{REJECTED}/ belongs to uid {info.st_uid}, not the watcher's user")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise _Refused(f"{REJECTED}/ is writable by other users")
        yield into
    finally:
        os.close(into)


def _free_name(into: int, name: str) -> str:
    """``name`` or ``stem.N.suffix``: a name under which neither the file nor its ``.reason`` exists."""
    stem, dot, suffix = name.rpartition(".")
    for n in range(1000):
        candidate = name if n == 0 else (f"{stem}.{n}.{suffix}" if dot and stem else f"{name}.{n}")
        if not any(_exists(into, c) for c in (candidate, candidate + ".reason")):
            return candidate
    raise OSError(errno.EEXIST, f"1,000 rejected files named {printable(name)}")


def _exists(into: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=into, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True
