"""The drop folder: export files that appear in a directory are staged and run, each content once.

A file is taken once its size and modification time held still between two looks (a file still being
copied in is left for the next look). Its content is claimed by checksum in PostgreSQL before
anything else, so the same export under another name, or a second watcher on the same folder, takes
nothing twice. The source comes from the file name: ``nfl_combine_2021.csv`` is an NFL export.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from etl_worker.db import drops
from etl_worker.db.engine import transaction
from etl_worker.errors import ETLError
from etl_worker.ingest import ingest_file, sha256_of
from etl_worker.pipeline import run_signature
from etl_worker.settings import Settings
from etl_worker.sources import REGISTRY

log = logging.getLogger(__name__)


def source_for(filename: str) -> str | None:
    """The source a file name starts with (``pff``, ``pff_2021.csv``, ``pff-grades.csv``), if any."""
    name = filename.lower()
    for source in REGISTRY:
        if name == source or any(name.startswith(source + sep) for sep in "_-. "):
            return source
    return None


@dataclass(frozen=True)
class Outcome:
    """What became of one file: taken (staged and enqueued), skipped (content seen before) or rejected."""

    path: Path
    status: str
    message: str
    extraction_id: str | None = None
    execution_id: str | None = None


class DropFolder:
    def __init__(self, settings: Settings, directory: Path) -> None:
        self.settings = settings
        self.directory = directory
        self.seen: dict[Path, tuple[int, int]] = {}  # size and mtime at the last look
        self.done: dict[Path, tuple[int, int]] = {}  # ... when the file was handled

    def poll(self) -> list[Outcome]:
        """Look once; handle the files that held still since the last look."""
        outcomes = []
        for path in sorted(self.directory.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            stat = path.stat()
            signature = (stat.st_size, stat.st_mtime_ns)
            still = self.seen.get(path) == signature
            self.seen[path] = signature
            if still and self.done.get(path) != signature:
                self.done[path] = signature
                outcomes.append(self.take(path))
        return outcomes

    def take(self, path: Path) -> Outcome:
        checksum = sha256_of(path)
        source = source_for(path.name)
        unknown = f"no source in the file name: start it with one of {', '.join(REGISTRY)}"
        with transaction(self.settings.database_url) as conn:
            if source is None:
                claimed = drops.claim(conn, checksum, path.name, None, "rejected", unknown)
            else:
                claimed = drops.claim(conn, checksum, path.name, source, "taking", None)
            earlier = None if claimed else drops.taken(conn, checksum)
        if earlier is not None:
            return Outcome(path, "skipped", f"same content as {earlier['filename']}, {earlier['status']} before")
        if source is None:
            return Outcome(path, "rejected", unknown)
        try:
            staged = ingest_file(self.settings, source, path)
            extraction_id, rows = staged.extraction_id, staged.rows
        except ETLError as exc:
            with transaction(self.settings.database_url) as conn:
                drops.settle(conn, checksum, status="rejected", message=str(exc))
            return Outcome(path, "rejected", str(exc))
        execution_id = str(uuid.uuid4())
        run_signature(extraction_id, execution_id, [source]).apply_async()
        with transaction(self.settings.database_url) as conn:
            drops.settle(conn, checksum, status="enqueued", extraction_id=extraction_id, execution_id=execution_id)
        return Outcome(path, "taken", f"{rows:,} {source} rows", extraction_id, execution_id)
