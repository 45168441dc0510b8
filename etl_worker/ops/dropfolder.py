"""The drop folder: export files that appear in a directory are staged and run, each content once.

A file is taken once its size and modification time held still between two looks (a file still being
copied in is left for the next look). A file that cannot be staged (no source in its name, a malformed
export) is moved to ``rejected/`` with a ``.reason`` file beside it. Its content is claimed by checksum in PostgreSQL before
anything else, so the same export under another name, or a second watcher on the same folder, takes
nothing twice. The source comes from the file name (``nfl_combine_2021.csv`` is an NFL export) or, when the
name does not say, from the header: the one source whose required columns it has.
"""

from __future__ import annotations

import csv
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from etl_worker.db import drops
from etl_worker.db.engine import transaction
from etl_worker.errors import ETLError, RetriableError
from etl_worker.ingest import ingest_file, sha256_of
from etl_worker.pipeline import run_signature
from etl_worker.redact import redact_text
from etl_worker.settings import Settings
from etl_worker.sources import registry, sources_with_header

log = logging.getLogger(__name__)


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
    skipped (content seen before), deferred (the database was unreachable: tried again next look) or
    rejected (moved to ``rejected/`` with a ``.reason`` file beside it)."""

    path: Path
    status: str
    message: str
    extraction_id: str | None = None
    execution_id: str | None = None


class DropFolder:
    """Watches one directory. Nothing a file holds stops it: each file ends taken, skipped or rejected."""

    def __init__(self, settings: Settings, directory: Path) -> None:
        self.settings = settings
        self.directory = directory
        self.rejected_dir = directory / "rejected"
        self.seen: dict[Path, tuple[int, int]] = {}  # size and mtime at the last look
        self.done: dict[Path, tuple[int, int]] = {}  # ... when the file was handled
        self.claimed: set[str] = set()  # checksums this watcher holds as "taking"

    def poll(self) -> list[Outcome]:
        """Look once; handle the files that held still since the last look."""
        outcomes = []
        for path in sorted(self.directory.iterdir()):
            try:
                if not path.is_file() or path.name.startswith("."):
                    continue
                stat = path.stat()
            except OSError:  # gone between the listing and the look
                continue
            signature = (stat.st_size, stat.st_mtime_ns)
            still = self.seen.get(path) == signature
            self.seen[path] = signature
            if still and self.done.get(path) != signature:
                self.done[path] = signature
                outcome = self.take(path)
                if outcome.status == "deferred":
                    del self.done[path]
                outcomes.append(outcome)
        return outcomes

    def take(self, path: Path) -> Outcome:
        try:
            checksum = sha256_of(path)
        except OSError as exc:
            return Outcome(path, "skipped", f"could not be read: {exc.strerror or exc}")
        source, decided, unknown = self._source_of(path)
        try:
            with transaction(self.settings.database_url) as conn:
                if source is None:
                    claimed = drops.claim(conn, checksum, path.name, None, "rejected", unknown)
                else:
                    claimed = drops.claim(conn, checksum, path.name, source, "taking", None)
                earlier = None if claimed or checksum in self.claimed else drops.taken(conn, checksum)
        except RetriableError as exc:
            return Outcome(path, "deferred", f"{exc}; trying again at the next look")
        if earlier is not None:
            return Outcome(path, "skipped", f"same content as {earlier['filename']}, {earlier['status']} before")
        if source is None:
            return self._reject(path, unknown)
        if claimed is not None and claimed > 2:
            return self._reject(path, "a watcher stopped twice while taking this file", checksum)
        self.claimed.add(checksum)
        try:
            staged = ingest_file(self.settings, source, path)
        except RetriableError as exc:
            return Outcome(path, "deferred", f"{exc}; trying again at the next look")
        except ETLError as exc:
            return self._reject(path, str(exc), checksum)
        except Exception as exc:  # a file must never stop the watcher
            log.exception("unexpected error taking a dropped file")
            return self._reject(path, f"{type(exc).__name__}: {redact_text(str(exc))}", checksum)
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
    def _source_of(path: Path) -> tuple[str | None, str, str]:
        """The file's source and which rule decided it: its name, else its header (the one source whose
        required columns it has); or None and why not."""
        source = source_for(path.name)
        if source is not None:
            return source, "source from the file name", ""
        try:
            with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
                header = next(csv.reader([handle.readline(1 << 16)]), [])
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

    def _reject(self, path: Path, reason: str, checksum: str | None = None) -> Outcome:
        """Move the file to ``rejected/`` with a ``.reason`` file beside it, and record why."""
        if checksum is not None:
            self._settle(checksum, status="rejected", message=reason)
        try:
            self.rejected_dir.mkdir(exist_ok=True)
            target = self.rejected_dir / path.name
            for n in range(1, 1000):
                if not target.exists():
                    break
                target = self.rejected_dir / f"{path.stem}.{n}{path.suffix}"
            os.replace(path, target)
            target.with_name(target.name + ".reason").write_text(reason + "\n", encoding="utf-8")
        except OSError as exc:
            log.warning("could not move a rejected file to %s: %s", self.rejected_dir, exc)
            return Outcome(path, "rejected", reason)
        return Outcome(path, "rejected", f"{reason} (moved to {target.parent.name}/{target.name})")
