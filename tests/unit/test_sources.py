"""Source adapters and normalization on real rows of the sample exports."""

from __future__ import annotations

import csv

import pytest

from etl_worker.errors import ConfigurationError, RecordError
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
