"""Which source a dropped export is: its file name says so, or else its header (the one source whose
required columns it has); real exports keep their publishers' names (nflcom_combine_official_2006_2026.csv)."""

from __future__ import annotations

import shutil
from pathlib import Path

from etl_worker.ops.dropfolder import DropFolder
from etl_worker.sources import registry, sources_with_header

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_each_source_is_recognised_from_its_own_header_alone() -> None:
    for name, source in registry().items():
        assert sources_with_header([*source.required_columns, "extra"]) == [name]
    assert sources_with_header(["player", "note"]) == []


def test_a_real_export_name_that_does_not_start_with_a_source_is_taken_by_its_header(tmp_path: Path) -> None:
    for fixture, source in (("nfl.csv", "nfl"), ("pff.csv", "pff"), ("cfr.csv", "cfr"), ("yahoo.csv", "yahoo")):
        path = tmp_path / f"official_export_of_{source}_2006_2026.csv"
        shutil.copy(FIXTURES / fixture, path)
        assert DropFolder._source_of(path)[:2] == (source, "source from the header"), fixture
    named = tmp_path / "nflcom_combine_official_2006_2026.csv"
    shutil.copy(FIXTURES / "nfl.csv", named)
    assert DropFolder._source_of(named)[0] == "nfl"


def test_the_file_name_decides_first_and_a_file_neither_names_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "pff_2021.csv"
    shutil.copy(FIXTURES / "nfl.csv", path)  # the name decides: ingest then names the missing columns
    assert DropFolder._source_of(path)[:2] == ("pff", "source from the file name")
    notes = tmp_path / "scouting_notes.csv"
    notes.write_text("player,note\nA. Player,fast\n")
    source, _, why = DropFolder._source_of(notes)
    assert source is None and why.startswith("no source in the file name or the header") and "\n" not in why
    both = tmp_path / "merged.csv"
    both.write_text(",".join([*registry()["pff"].required_columns, *registry()["yahoo"].required_columns]) + "\n")
    source, _, why = DropFolder._source_of(both)
    assert source is None and "fits several sources (" in why and "pff" in why and "yahoo" in why


def test_the_real_excerpts_under_their_publishers_names_are_each_their_source(tmp_path: Path) -> None:
    """The excerpts of the real files (tests/fixtures/real) under the names the real files carry."""
    published = {
        "cfr": "cfbref_college_offense_seasons_2014_2023.csv",
        "espn": "espn_draft_prospects_rankings_1967_2021.csv",
        "nfl": "nflcom_combine_official_2006_2026.csv",
        "pfr": "pfr_combine_draft_2000_2022.csv",
    }
    for source, name in published.items():
        shutil.copy(FIXTURES / "real" / f"{source}.csv", tmp_path / name)
        assert DropFolder._source_of(tmp_path / name)[0] == source, name
