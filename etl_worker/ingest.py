"""Stage a source export: stream a CSV file into the source's staging table with COPY."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from etl_worker.db import staging
from etl_worker.db.engine import transaction
from etl_worker.errors import ConfigurationError, FatalError
from etl_worker.settings import Settings
from etl_worker.sources import get_source


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _records(reader: csv.DictReader, progress: Callable[[int], None] | None) -> Iterator[dict[str, str]]:
    for count, row in enumerate(reader, start=1):
        extra = row.pop(None, None)  # type: ignore[call-overload]
        record = {k: v for k, v in row.items() if k is not None}
        if extra:
            record["_extra_fields"] = extra
        if progress is not None and count % 1000 == 0:
            progress(count)
        yield record


def ingest_file(
    settings: Settings,
    source_name: str,
    path: str | Path,
    extraction_id: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[str, int]:
    """Stage ``path`` as ``source_name`` rows of an extraction (a new one unless given); returns (id, rows).

    Staging a source again into the same extraction replaces its rows, until the extraction is loaded.
    ``on_progress(rows, bytes_read)`` is called every thousand rows while the file streams in.
    """
    source = get_source(source_name)
    path = Path(path)
    if not path.is_file():
        raise ConfigurationError(f"cannot read {path}: no such file")
    if extraction_id is None:
        extraction_id = str(uuid.uuid4())
    else:
        try:
            extraction_id = str(uuid.UUID(extraction_id))
        except ValueError:
            raise ConfigurationError(f"extraction id {extraction_id!r} is not a UUID") from None
    checksum = sha256_of(path)
    try:
        with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            source.check_header(list(reader.fieldnames or []))
            progress = (lambda rows: on_progress(rows, raw.tell())) if on_progress else None
            with transaction(settings.database_url) as conn:
                staging.ensure_extraction(conn, extraction_id)
                if staging.extraction_state(conn, extraction_id) == "loaded":
                    raise FatalError(f"extraction {extraction_id} is already loaded; stage into a new extraction")
                rows = staging.replace_staging(conn, source.name, extraction_id, _records(reader, progress))
                staging.record_file(conn, extraction_id, source.name, path.name, checksum, rows)
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path} is not UTF-8 text (byte {exc.start})") from None
    except csv.Error as exc:
        raise ConfigurationError(f"{path} is not a readable CSV file: {exc}") from None
    return extraction_id, rows
