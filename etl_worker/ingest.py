"""Stage a source export: read it strictly and stream its records into the source's staging table with COPY."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from etl_worker.db import staging
from etl_worker.db.engine import transaction
from etl_worker.display import printable
from etl_worker.errors import ConfigurationError, ExportError, FatalError, NotFoundError, NotPlain
from etl_worker.exportfile import Account, ExportReader, PlainReader
from etl_worker.ids import canonical_uuid
from etl_worker.settings import Settings
from etl_worker.sources import get_source
from etl_worker.sources.base import Source


@dataclass(frozen=True)
class Staged:
    """An ingested file: the extraction it went into and what became of each of its lines."""

    extraction_id: str
    account: Account

    @property
    def rows(self) -> int:
        return self.account.records_staged


def _extraction_id(extraction_id: str | uuid.UUID | None) -> str:
    return str(uuid.uuid4()) if extraction_id is None else canonical_uuid(extraction_id)


def ingest_file(
    settings: Settings,
    source_name: str,
    path: str | Path,
    extraction_id: str | uuid.UUID | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    create: bool = False,
    opener: Callable[[], BinaryIO] | None = None,
) -> Staged:
    """Stage ``path`` as ``source_name`` rows of an extraction: a new one unless given; a given one must
    exist, unless ``create`` (a producer that names its new extraction, as with the seed's ``uuid4()``).

    Staging a source again into the same extraction replaces its rows, until the extraction is loaded.
    A file that cannot be read whole and as its source's export raises ``ExportError`` (file, line,
    what is wrong) and stages nothing. ``on_progress(rows, bytes_read)`` is called every thousand rows.
    ``opener`` gives the file's content from its start (the drop folder's file it holds open); by default
    ``path`` is opened. The name is recorded and shown with any byte that is not UTF-8 escaped.
    """
    source = get_source(source_name)
    path = Path(path)
    name = printable(path)
    if opener is None and not path.is_file():
        raise ConfigurationError(f"cannot read {name}: {'a directory' if path.is_dir() else 'no such file'}")
    read: Callable[[], BinaryIO] = opener or (lambda: path.open("rb"))
    new = extraction_id is None or create
    extraction_id = _extraction_id(extraction_id)
    try:
        try:
            return _stage(settings, source, path, read, extraction_id, new, PlainReader, on_progress)
        except NotPlain:  # nothing was staged: the exact reader refuses the file or stages it
            return _stage(settings, source, path, read, extraction_id, new, ExportReader, on_progress)
    except OSError as exc:
        raise ExportError(name, None, f"could not be read: {exc.strerror or exc}") from None


def _stage(
    settings: Settings,
    source: Source,
    path: Path,
    opener: Callable[[], BinaryIO],
    extraction_id: str,
    new: bool,
    reader_type: Callable[[BinaryIO, str, Source], PlainReader | ExportReader],
    on_progress: Callable[[int, int], None] | None,
) -> Staged:
    """Stage the file in one transaction with a reader (which raises ``NotPlain``, or ``ExportError``)."""
    with opener() as raw:
        reader = reader_type(raw, printable(path), source)
        stopped: list[Exception] = []

        def records() -> Iterator[list[str]]:
            # An error raised inside COPY would come back wrapped by the driver: keep it, end the stream.
            try:
                for count, (_, fields) in enumerate(reader.records(), start=1):
                    if on_progress is not None and count % 1000 == 0:
                        on_progress(count, reader.position)
                    yield fields
            except (ExportError, NotPlain, OSError) as exc:
                stopped.append(exc)

        with transaction(settings.database_url) as conn:
            if new:
                staging.ensure_extraction(conn, extraction_id)
            try:
                state = staging.extraction_state(conn, extraction_id, lock=True)
            except NotFoundError:
                raise NotFoundError(
                    f"extraction {extraction_id} does not exist; leave out --extraction-id to start a new extraction"
                ) from None
            if state == "loaded":
                raise FatalError(f"extraction {extraction_id} is already loaded; stage into a new extraction")
            staging.ensure_staging_table(conn, source.name)
            stored = staging.replace_staging(conn, source.name, extraction_id, reader.header, records())
            if stopped:
                raise stopped[0]  # rolls the transaction back: nothing of the file is staged
            if stored != reader.account.records_staged:  # what validate's row accounting starts from
                raise FatalError(
                    f"{printable(path.name)}: PostgreSQL stored {stored:,} of the {reader.account.records_staged:,} records "
                    "read; nothing of the file is staged"
                )
            staging.record_file(
                conn,
                extraction_id,
                source.name,
                printable(path.name),
                reader.digest.hexdigest(),
                **vars(reader.account),
            )
    return Staged(extraction_id, reader.account)
