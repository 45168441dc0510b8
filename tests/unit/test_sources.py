"""Source adapters and normalization on real rows of the sample exports."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest

from etl_worker.errors import ConfigurationError, RecordError
from etl_worker.exportfile import PLAIN_BLOCK_BYTES, ExportReader, PlainReader
from etl_worker.normalize import college_key, height_inches, name_key, position_group
from etl_worker.sources import get_source
from tests.helpers import FIXTURES


def rows(source: str) -> list[dict[str, str]]:
    with (FIXTURES / f"{source}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("source", ["pff", "cfr", "nfl", "yahoo"])
def test_every_fixture_row_transforms(source):
    adapter = get_source(source)
    for row in rows(source):
        assert adapter.transform(row).prospect.full_name


def test_nfl_grade_zero_is_missing_and_scales_are_kept():
    adapter = get_source("nfl")
    row = rows("nfl")[0]
    assert not [g for g in adapter.transform({**row, "grade": "0.0", "draft_grade": ""}).grades]
    grade = adapter.transform({**row, "grade": "6.5"}).grades[0]
    assert (grade.scale, grade.grade, grade.grade_normalized) == ("nfl_5_8", 6.5, 50.0)
    old = adapter.transform({**row, "year": "2012", "grade": "71"}).grades[0]
    assert old.scale == "nfl_44_97"


def test_cfr_passing_rows_keep_rushing_missing_not_zero():
    adapter = get_source("cfr")
    passer = next(r for r in rows("cfr") if r["School"] == "0")
    season = adapter.transform(passer).college_seasons[0]
    assert season.stats["pass_yds"] and season.stats["rush_yds"] is None
    rusher = next(r for r in rows("cfr") if r["School"] != "0")
    assert adapter.transform(rusher).college_seasons[0].stats["pass_yds"] is None


def test_summary_rows_and_bad_numbers_are_record_errors():
    adapter = get_source("cfr")
    with pytest.raises(RecordError) as summary:
        adapter.parse({**rows("cfr")[0], "Player": "League Average"})
    assert summary.value.rule == "summary_row"
    with pytest.raises(RecordError, match="not a number"):
        get_source("nfl").transform({**rows("nfl")[0], "weight": "heavy"})


def test_unknown_source_and_wrong_header_are_readable():
    with pytest.raises(ConfigurationError, match="unknown source 'espnn'"):
        get_source("espnn")
    with pytest.raises(ConfigurationError, match="not a yahoo export"):
        get_source("yahoo").check_header(["player", "position"])


@pytest.mark.parametrize(("raw", "inches"), [("75.5", 75.5), ("6-3", 75.0), ("76", 76.0), ("NA", None), ("", None)])
def test_heights(raw, inches):
    assert height_inches(raw) == inches


def test_names_colleges_positions_fold_for_matching():
    assert name_key("Odell Beckham, Jr.") == name_key("odell beckham jr") == "odell beckham"
    assert name_key("A.J. Hawk") == "aj hawk"
    assert college_key("Ohio St.") == college_key("Ohio State")
    assert position_group("SAF") == position_group("FS") == "DB"
    assert position_group("T") == position_group("OT") == "OL"


PACKAGED = sorted((Path(__file__).parents[2] / "etl_worker" / "data").glob("*.csv"))


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.name)
def test_no_real_player_is_quarantined_as_a_summary_header_or_name_only_line(path):
    """The record checks every source shares catch only what is not a player in the real exports:
    the one College Football Reference "League Average" line."""
    adapter = get_source(path.name.split("_")[0])
    caught = []
    with path.open("rb") as handle:
        reader = ExportReader(handle, path.name, adapter)
        for _, fields in reader.records():
            record = dict(zip(reader.header, fields, strict=True))
            try:
                adapter.parse(record)
            except RecordError as exc:
                caught.append((record[adapter.name_column], exc.rule))
    assert caught == ([("League Average", "summary_row")] if adapter.name == "cfr" else [])


@pytest.mark.parametrize(
    ("player", "rule"),
    [
        ("Team Totals", "summary_row"),
        ("TOTAL:", "summary_row"),
        ("Source: pff.com", "summary_row"),
        ("Data as of 2020-04-01", "summary_row"),
        ("© 2020 Pro Football Focus", "summary_row"),
        ("* grades are provisional", "summary_row"),
        ("....", "not_a_name"),
        ("12345", "not_a_name"),
    ],
)
def test_summary_and_footer_lines_are_quarantined_in_any_source(player, rule):
    record = {**rows("pff")[0], "player": player}
    with pytest.raises(RecordError) as caught:
        get_source("pff").parse(record)
    assert caught.value.rule == rule


@pytest.mark.parametrize("player", ["Sourcing Smith", "Noté Totalson", "D'Andre Swift", "Ja'Marr Chase", "A.J. Hawk"])
def test_names_that_resemble_patterns_are_kept(player):
    assert get_source("pff").parse({**rows("pff")[0], "player": player}).prospect.full_name == player


def test_a_record_with_a_name_only_or_no_class_is_quarantined():
    blank = {column: "" for column in rows("pff")[0]}
    with pytest.raises(RecordError) as name_only:
        get_source("pff").parse({**blank, "player": "Somebody", "draft_year": "2020", "school": "n/a"})
    assert name_only.value.rule == "no_facts"
    with pytest.raises(RecordError) as classless:
        get_source("yahoo").parse({"player": "Somebody", "position": "QB", "school": "Iowa", "rank": "3"})
    assert classless.value.rule == "no_class"
    header = {column: column for column in rows("yahoo")[0]}
    with pytest.raises(RecordError) as repeated:
        get_source("yahoo").parse(header)
    assert repeated.value.rule == "repeated_header"


def test_the_seeds_transformer_types_name_exactly_the_built_in_sources():
    # TransformerType is the seed's public enum; the registry is where a source is defined. A built-in
    # source added to one and not the other fails here (plug-in sources are named by string).
    from etl_worker import sources
    from etl_worker.models import TransformerType

    assert {t.value for t in TransformerType} == {cls().name for cls in sources._BUILT_IN}


def _both(content: bytes, source: str) -> tuple[list, list, PlainReader, ExportReader]:  # type: ignore[type-arg]
    adapter = get_source(source)
    exact = ExportReader(io.BytesIO(content), "export.csv", adapter)
    plain = PlainReader(io.BytesIO(content), "export.csv", adapter)
    return list(plain.records()), list(exact.records()), plain, exact


@pytest.mark.parametrize("path", PACKAGED, ids=lambda p: p.name)
def test_the_plain_reader_reads_every_real_export_as_the_exact_reader_does(path):
    """The fast path of ingest, over the real files (NFL's quoted newlines included)."""
    plain, exact, plain_reader, exact_reader = _both(path.read_bytes(), path.name.split("_")[0])
    assert plain == exact and len(plain) > 0
    assert vars(plain_reader.account) == vars(exact_reader.account)


def test_the_plain_reader_reads_across_its_blocks_without_losing_or_splitting_a_line():
    header = b"player,position,school,draft_year,rank,position_rank\r\n"
    rows = [b"Jo\xc3\xa9 Burrow %d,QB,LSU,2020,%d,1\r\n" % (i, i) for i in range(1, 90_001)]
    content = header + b"".join(rows)
    assert len(content) > 3 * PLAIN_BLOCK_BYTES
    plain, exact, plain_reader, exact_reader = _both(content, "yahoo")
    assert plain == exact and len(plain) == 90_000
    assert [n for n, _ in plain] == list(range(2, 90_002))
    assert vars(plain_reader.account) == vars(exact_reader.account)
    assert plain_reader.digest.hexdigest() == exact_reader.digest.hexdigest() == hashlib.sha256(content).hexdigest()
