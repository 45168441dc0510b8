"""A source export read strictly: every physical line of the file is accounted for, or the file is refused.

A CSV file can lose rows without an error: one stray ``"`` opens a quoted field that swallows every line
up to the next quote, and the reader happily returns one long record. So a file is read line by line,
each line decoded on its own (a bad byte is reported with its line), and each record checked against
the header and against what its source allows:

- a record with more or fewer fields than the header refuses the file;
- a quoted field that spans lines refuses the file, unless its column is one the source's adapter
  declares multi-line (``Source.multiline_columns``) and the swallowed text does not look like records;
- a NUL byte, a byte that is not UTF-8, a line or field over the size limits, or a CSV syntax error
  (a quote in the wrong place, a file ending inside quotes) refuses the file.

A refused file raises ``ExportError`` naming the file, the first bad line and what is wrong; nothing of
it is staged. Records whose every field is empty are not data: they are rejected with their line
number (and counted), the rest are staged. Blank lines are counted too, so that
``lines_read == 1 + blank_lines + lines of the staged and rejected records``.

Two readers give the same records and account: ``PlainReader`` reads whole blocks of lines at C speed
and checks each block at once; it handles a file whose every record is on one line of plain UTF-8 text
and stops with ``NotPlain`` at the first thing it does not (a bad byte, a quoted field over lines, a
record of the wrong width, a CSV error). ``ExportReader`` reads line by line and names the exact line and
problem; a file the plain reader stops on is read again by it, which either refuses it or stages it (a
multi-line field its source allows).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import BinaryIO

from etl_worker.display import printable
from etl_worker.errors import ExportError, NotPlain
from etl_worker.sources.base import Source

MAX_LINE_BYTES = 4 << 20  # one physical line
MAX_FIELD_CHARS = 1 << 20  # one field, quoted lines included
REJECTIONS_KEPT = 100  # rejected records listed per file (all are counted)
PLAIN_BLOCK_BYTES = 1 << 20  # what the plain reader reads at once (then on to the end of the line)
EMPTY_RECORD = "every field is empty"

# csv's limit is process-wide; a field this long is refused with its line rather than read.
csv.field_size_limit(MAX_FIELD_CHARS)


@dataclass
class Account:
    """What became of every line of a file."""

    lines_read: int = 0
    blank_lines: int = 0
    records_staged: int = 0
    records_rejected: int = 0
    rejected: list[dict[str, object]] = field(default_factory=list)  # the first few: {"line": n, "reason": ...}

    def reject(self, line: int, reason: str) -> None:
        self.records_rejected += 1
        if len(self.rejected) < REJECTIONS_KEPT:
            self.rejected.append({"line": line, "reason": reason})


def checked_header(name: str, source: Source, row: list[str]) -> list[str]:
    """The column names of a header row, refused when one repeats or the source's adapter refuses them."""
    header = [h.strip() for h in row]
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise ExportError(name, 1, f"the header names column {printable(column)!r} twice")
        seen.add(column)
    source.check_header(header)
    return header


def spanning_problem(source: Source, header: list[str], row: list[str], start: int, end: int) -> str | None:
    """What is wrong with a record over lines ``start``-``end``, if anything: a quoted field over lines is
    allowed only in a column the source declares multi-line, and only when it swallowed no record."""
    for column, value in zip(header, row, strict=True):
        if "\n" not in value and "\r" not in value:
            continue
        where = f"column {printable(column)!r} holds a quoted field over lines {start:,}-{end:,}"
        if column not in source.multiline_columns:
            return f"{where}; {source.name} exports have none (a stray quote?)"
        if any(line.count(",") >= len(header) - 1 for line in value.splitlines()):
            return f"{where} that swallowed lines shaped like records (a stray quote?)"
    return None


# What str.splitlines() splits on besides a newline (a CR before a newline ends the line with it).
_OTHER_LINE_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


class _Reader:
    """What both readers keep of a file: its ``account``, the SHA-256 of what was read (``digest``, the
    file's once read to its end) and how many bytes that was (``position``)."""

    def __init__(self, raw: BinaryIO, name: str, source: Source) -> None:
        self.raw = raw
        self.name = name
        self.source = source
        self.account = Account()
        self.digest = hashlib.sha256()
        self.position = 0


class PlainReader(_Reader):
    """The fast reader of a plain export (see the module's docstring): ``records()`` as ``ExportReader``'s."""

    def __init__(self, raw: BinaryIO, name: str, source: Source) -> None:
        super().__init__(raw, name, source)
        self._reader = csv.reader(chain.from_iterable(self._blocks()), strict=True)
        try:
            self.header = checked_header(name, source, next(self._reader))
        except (StopIteration, ExportError, csv.Error):
            raise NotPlain from None

    def _blocks(self) -> Iterator[list[str]]:
        """The file's lines a block at a time; raises ``NotPlain`` for a block that is not plain text."""
        first = True
        while block := self.raw.read(PLAIN_BLOCK_BYTES):
            if not block.endswith(b"\n"):
                head = len(block) - block.rfind(b"\n") - 1  # the start of the line the block cut
                tail = self.raw.readline(MAX_LINE_BYTES + 1)
                if head + len(tail) > MAX_LINE_BYTES:
                    raise NotPlain
                block += tail
            self.digest.update(block)
            self.position += len(block)
            if b"\x00" in block:
                raise NotPlain
            try:
                text = block.decode("utf-8-sig" if first else "utf-8")
            except UnicodeDecodeError:
                raise NotPlain from None
            if any(c in text for c in _OTHER_LINE_BREAKS) or text.count("\r") != text.count("\r\n"):
                raise NotPlain
            first = False
            yield text.splitlines(keepends=True)

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(line, fields) for every data record; raises ``NotPlain`` at the first record it cannot read."""
        reader, account, header = self._reader, self.account, self.header
        width = len(header)
        end = reader.line_num
        try:
            for row in reader:
                start, end = end + 1, reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    account.blank_lines += end - start + 1
                elif len(row) != width:
                    raise NotPlain
                elif end > start and spanning_problem(self.source, header, row, start, end):
                    raise NotPlain
                elif not "".join(row).strip():
                    account.reject(start, EMPTY_RECORD)
                else:
                    account.records_staged += 1
                    yield start, row
        except csv.Error:
            raise NotPlain from None
        finally:
            account.lines_read = reader.line_num


class ExportReader(_Reader):
    """Iterate the records of one export (``records()``), checking each; ``account`` fills as it goes."""

    def __init__(self, raw: BinaryIO, name: str, source: Source) -> None:
        super().__init__(raw, name, source)
        self._reader = csv.reader(self._lines(), strict=True)
        self.header = self._read_header()

    def _fail(self, line: int | None, problem: str) -> ExportError:
        return ExportError(self.name, line, problem)

    def _lines(self) -> Iterator[str]:
        number = 0
        while True:
            chunk = self.raw.readline(MAX_LINE_BYTES + 1)
            if not chunk:
                return
            self.digest.update(chunk)
            self.position += len(chunk)
            number += 1
            self.account.lines_read = number
            if len(chunk) > MAX_LINE_BYTES:
                raise self._fail(number, f"line is longer than {MAX_LINE_BYTES >> 20} MiB")
            try:
                line = chunk.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                byte = chunk[exc.start]
                raise self._fail(number, f"byte 0x{byte:02x} at column {exc.start + 1} is not UTF-8 text") from None
            nul = line.find("\x00")
            if nul >= 0:
                raise self._fail(number, f"a NUL byte at column {nul + 1} (a binary file?)")
            yield line

    def _next(self) -> tuple[int, list[str]] | None:
        """The next CSV record with the line it starts on, or None at the end."""
        start = self.account.lines_read + 1
        try:
            row = next(self._reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise self._fail(start, f"a field is longer than {MAX_FIELD_CHARS:,} characters") from None
            if "unexpected end of data" in str(exc):
                raise self._fail(start, "a quoted field opens here and never closes (a stray quote?)") from None
            raise self._fail(self.account.lines_read or start, f"not valid CSV: {exc}") from None
        return start, row

    def _read_header(self) -> list[str]:
        first = self._next()
        if first is None:
            raise self._fail(None, "the file is empty")
        return checked_header(self.name, self.source, first[1])

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(first line, fields) for every data record; raises ``ExportError`` at the first bad one."""
        width = len(self.header)
        while (item := self._next()) is not None:
            start, row = item
            end = self.account.lines_read
            if not row or (len(row) == 1 and not row[0].strip()):
                self.account.blank_lines += end - start + 1
                continue
            if len(row) != width:
                spans = f" (lines {start:,}-{end:,}: a stray quote?)" if end > start else ""
                raise self._fail(start, f"{len(row)} fields where the header has {width}{spans}")
            if end > start and (problem := spanning_problem(self.source, self.header, row, start, end)):
                raise self._fail(start, problem)
            if not any(v.strip() for v in row):
                self.account.reject(start, EMPTY_RECORD)
                continue
            self.account.records_staged += 1
            yield start, row
