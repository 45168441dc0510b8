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
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from etl_worker.display import printable
from etl_worker.errors import ConfigurationError
from etl_worker.sources.base import Source

MAX_LINE_BYTES = 4 << 20  # one physical line
MAX_FIELD_CHARS = 1 << 20  # one field, quoted lines included
REJECTIONS_KEPT = 100  # rejected records listed per file (all are counted)

# csv's limit is process-wide; a field this long is refused with its line rather than read.
csv.field_size_limit(MAX_FIELD_CHARS)


class ExportError(ConfigurationError):
    """A file that cannot be staged as it is: one line saying where and why."""

    def __init__(self, name: str, line: int | None, problem: str) -> None:
        where = f"{printable(name)}: line {line:,}" if line else printable(name)
        super().__init__(f"{where}: {problem}")
        self.line = line
        self.problem = problem


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


class ExportReader:
    """Iterate the records of one export (``records()``), checking each; ``account`` fills as it goes."""

    def __init__(self, raw: BinaryIO, name: str, source: Source) -> None:
        self.raw = raw
        self.name = name
        self.source = source
        self.account = Account()
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
        _, header = first
        header = [h.strip() for h in header]
        seen: set[str] = set()
        for column in header:
            if column in seen:
                raise self._fail(1, f"the header names column {printable(column)!r} twice")
            seen.add(column)
        self.source.check_header(header)
        return header

    def records(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(first line, record) for every data record; raises ``ExportError`` at the first bad one."""
        width = len(self.header)
        allowed = self.source.multiline_columns
        while (item := self._next()) is not None:
            start, row = item
            end = self.account.lines_read
            if not row or (len(row) == 1 and not row[0].strip()):
                self.account.blank_lines += end - start + 1
                continue
            if len(row) != width:
                spans = f" (lines {start:,}-{end:,}: a stray quote?)" if end > start else ""
                raise self._fail(start, f"{len(row)} fields where the header has {width}{spans}")
            if end > start:
                for column, value in zip(self.header, row, strict=True):
                    if "\n" in value or "\r" in value:
                        self._check_multiline(column, value, allowed, start, end)
            if not any(v.strip() for v in row):
                self.account.reject(start, "every field is empty")
                continue
            self.account.records_staged += 1
            yield start, dict(zip(self.header, row, strict=True))

    def _check_multiline(self, column: str, value: str, allowed: frozenset[str], start: int, end: int) -> None:
        where = f"column {printable(column)!r} holds a quoted field over lines {start:,}-{end:,}"
        if column not in allowed:
            raise self._fail(start, f"{where}; {self.source.name} exports have none (a stray quote?)")
        if any(line.count(",") >= len(self.header) - 1 for line in value.splitlines()):
            raise self._fail(start, f"{where} that swallowed lines shaped like records (a stray quote?)")
