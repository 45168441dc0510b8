"""Property: for any file mixing valid rows, stray quotes, blank lines, footers, extra and missing fields and
bad bytes, every data line ends up staged, rejected or quarantined with a reason: none silently dropped,
none doubled. A file with a structural defect is refused at a line that holds one, and nothing of it is
read as records. The plain reader (the fast path) reads such a file the same, or leaves it to the exact one."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl_worker.errors import ExportError, NotPlain, RecordError
from etl_worker.exportfile import ExportReader, PlainReader
from etl_worker.sources import get_source

HEADER = b"player,position,school,draft_year,rank,position_rank"
FIRST = ["Joe", "Ja'Marr", "Tua", "Chase", "A.J.", "D'Andre", "Justin", "Noé"]
LAST = ["Burrow", "Chase", "Tagovailoa", "Young", "Hawk", "Swift", "Herbert", "Núñez"]
STRUCTURAL = {"extra", "missing", "stray_quote", "bad_byte", "nul"}


@dataclass(frozen=True)
class Line:
    kind: str
    data: bytes


@st.composite
def lines(draw: st.DrawFn) -> Line:
    kind = draw(
        st.sampled_from(
            ["valid"] * 6 + ["blank", "footer", "empty", "extra", "missing", "stray_quote", "bad_byte", "nul"]
        )
    )
    name = f"{draw(st.sampled_from(FIRST))} {draw(st.sampled_from(LAST))}".encode()
    year, rank = draw(st.integers(2015, 2021)), draw(st.integers(1, 300))
    valid = b"%s,QB,LSU,%d,%d,1" % (name, year, rank)
    data = {
        "valid": valid,
        "blank": b"",
        "footer": draw(
            st.sampled_from(
                [b"Totals,,,,,", b"Source: Yahoo Sports,,,,,", b"player,position,school,draft_year,rank,position_rank"]
            )
        ),
        "empty": b",,,,,",
        "extra": valid + b",surplus",
        "missing": b"%s,QB,LSU" % name,
        "stray_quote": b'"' + valid,
        "bad_byte": valid.replace(b"LSU", b"L\xffSU"),
        "nul": valid.replace(b"QB", b"Q\x00B"),
    }[kind]
    return Line(kind, data)


@given(body=st.lists(lines(), max_size=40), newline=st.sampled_from([b"\n", b"\r\n"]), trailing=st.booleans())
@settings(derandomize=True, max_examples=300, deadline=None)
def test_every_line_is_staged_rejected_or_quarantined_or_the_file_refused_at_a_bad_line(body, newline, trailing):
    content = newline.join([HEADER, *(line.data for line in body)]) + (newline if trailing else b"")
    source = get_source("yahoo")
    numbered = list(enumerate(body, start=2))  # line 1 is the header
    defects = {number for number, line in numbered if line.kind in STRUCTURAL}
    reader = ExportReader(io.BytesIO(content), "yahoo_generated.csv", source)
    try:
        staged = [(n, dict(zip(reader.header, fields, strict=True))) for n, fields in reader.records()]
    except ExportError as exc:
        assert defects, f"refused a file without a defect: {exc}"
        assert exc.line in defects, f"refused at line {exc.line}, the defects are at {sorted(defects)}"
        with pytest.raises(NotPlain):  # the fast path never stages what the exact reader refuses
            list(PlainReader(io.BytesIO(content), "yahoo_generated.csv", source).records())
        return
    assert not defects, f"a defect at lines {sorted(defects)} was read as data"
    plain = PlainReader(io.BytesIO(content), "yahoo_generated.csv", source)
    assert [(n, dict(zip(plain.header, f, strict=True))) for n, f in plain.records()] == staged
    assert vars(plain.account) == vars(reader.account)

    account = reader.account
    physical = len(body) + 1 - (1 if not trailing and body and body[-1].kind == "blank" else 0)
    assert account.lines_read == physical
    blank = [n for n, line in numbered if line.kind == "blank" and n <= physical]
    assert account.blank_lines == len(blank)
    assert account.rejected == [
        {"line": n, "reason": "every field is empty"} for n, line in numbered if line.kind == "empty"
    ]
    records = [(n, line) for n, line in numbered if line.kind in ("valid", "footer")]
    assert [n for n, _ in staged] == [n for n, _ in records], "a record was dropped, doubled or moved"
    assert account.records_staged == len(records)
    for (_, record), (_, line) in zip(staged, records, strict=True):
        if line.kind == "valid":
            assert source.parse(record).prospect.full_name == line.data.split(b",")[0].decode()
        else:
            with pytest.raises(RecordError) as quarantined:
                source.parse(record)
            assert quarantined.value.rule in ("summary_row", "repeated_header") and quarantined.value.reason
