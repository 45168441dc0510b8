"""Each adapter on excerpts of the real exports (tests/fixtures/real, sources in its SOURCES.md)."""

from __future__ import annotations

import csv

import pytest

from etl_worker.errors import RecordError
from etl_worker.normalize import college_keys, name_key
from etl_worker.sources import get_source
from tests.helpers import FIXTURES

REAL = FIXTURES / "real"


def records(source: str) -> list[dict[str, str]]:
    with (REAL / f"{source}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def by_name(source: str, column: str, name: str, **match: str) -> dict[str, str]:
    return next(r for r in records(source) if r[column] == name and all(r[k] == v for k, v in match.items()))


def test_nfl_quoted_newlines_are_one_record_each():
    rows = records("nfl")
    physical_lines = (REAL / "nfl.csv").read_text(encoding="utf-8").count("\n")
    assert len(rows) == 10 and physical_lines == 13
    assert any("\n" in value for row in rows for value in row.values() if value)
    for row in rows:
        assert get_source("nfl").transform(row).prospect.full_name


def test_nfl_grade_encodings():
    nfl = get_source("nfl")
    hawk = nfl.transform(by_name("nfl", "player", "A.J. Hawk"))
    assert [g.grade_type for g in hawk.grades] == ["ngs_draft"]  # grade 0.0 means none
    luck = nfl.transform(by_name("nfl", "player", "Andrew Luck"))
    assert luck.grades[0].scale == "nfl_44_97"
    burrow = nfl.transform(by_name("nfl", "player", "Joe Burrow"))
    assert burrow.grades[0].scale == "nfl_5_8" and burrow.grades[0].grade == 7.07
    assert burrow.measurements["height_in"] == 75.5


def test_nfl_names_and_schools():
    peko = get_source("nfl").transform(by_name("nfl", "player", "Domata Peko Sr."))
    assert name_key(peko.prospect.full_name) == "domata peko"
    burrow = get_source("nfl").transform(by_name("nfl", "player", "Joe Burrow"))
    assert college_keys(burrow.prospect.college) == {"louisiana state", "ohio state"}


def test_pfr_heights_na_and_classes():
    pfr = get_source("pfr")
    burrow = pfr.transform(by_name("pfr", "player_name", "Joe Burrow"))
    assert burrow.measurements["height_in"] == 75.0 and burrow.measurements["forty"] is None
    assert burrow.prospect.other_ids == {"cfb": "joe-burrow-1"}
    assert (burrow.prospect.draft_round, burrow.prospect.draft_pick) == (1, 1)
    johnson = pfr.transform(by_name("pfr", "player_name", "Eric Johnson"))
    assert johnson.prospect.draft_year == 2000  # the combine class, though drafted in 2001
    beckham = pfr.transform(by_name("pfr", "player_name", "Odell Beckham, Jr."))
    assert name_key(beckham.prospect.full_name) == name_key("Odell Beckham Jr.") == "odell beckham"
    assert name_key("Louis Nix III") == "louis nix"
    greens = [pfr.transform(r) for r in records("pfr") if r["player_name"] == "Mike Green"]
    assert {g.prospect.source_player_id for g in greens} == {"GreeMi00"}
    assert {g.prospect.position for g in greens} == {"S", "FB"}
    assert college_keys("NW State (LA)") == college_keys("Northwestern St. (LA)")


def test_espn_grades_ranks_and_undrafted():
    espn = get_source("espn")
    assert espn.transform(by_name("espn", "player_name", "Bubba Smith")).grades == ()
    burrow = espn.transform(by_name("espn", "player_name", "Joe Burrow"))
    grade = burrow.grades[0]
    assert (grade.grade, grade.scale, grade.rank, grade.position_rank) == (94.0, "espn_0_100", 2, 1)
    white_cb = espn.transform(by_name("espn", "player_name", "Kevin White", pos_abbr="CB"))
    assert white_cb.prospect.draft_pick is None and white_cb.grades[0].grade == 44.0


def test_cfr_stacked_tables_and_summary_rows():
    cfr = get_source("cfr")
    burrow = cfr.transform(by_name("cfr", "Player", "Joe Burrow")).college_seasons[0]
    assert (burrow.season, burrow.team, burrow.stats["pass_yds"]) == (2019, "LSU", 5671.0)
    assert burrow.stats["rush_yds"] is None  # stored as 0.0 by the other table: missing, not zero
    chase = cfr.transform(by_name("cfr", "Player", "Ja'Marr Chase")).college_seasons[0]
    assert chase.team == "LSU" and chase.stats["pass_yds"] is None and chase.stats["rush_att"] == 1.0
    with pytest.raises(RecordError) as league:
        cfr.parse(by_name("cfr", "Player", "League Average"))
    assert league.value.rule == "summary_row"
