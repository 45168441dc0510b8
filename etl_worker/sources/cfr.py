"""College Football Reference season tables: a passing table stacked on a rushing/receiving table.

Passing rows name the school in ``Team`` (``School`` is "0"); rushing/receiving rows the other way round.
Each table writes 0.0 for the other table's columns, so those are read as missing, never as zero.
"""

from __future__ import annotations

from collections.abc import Mapping

from etl_worker.errors import RecordError
from etl_worker.normalize import number, text
from etl_worker.sources.base import CollegeSeasonFacts, ProspectFacts, Source, Transformed

_PASSING = {
    "pass_cmp": "Cmp",
    "pass_att": "Pass_Att",
    "pass_yds": "Pass_Yds",
    "pass_td": "Pass_TD",
    "pass_int": "Int",
}
_RUSHING_RECEIVING = {
    "rush_att": "Rush_Att",
    "rush_yds": "Rush_Yds",
    "rush_td": "Rush_TD",
    "rec": "Rec",
    "rec_yds": "Rec_Yds",
    "rec_td": "Rec_TD",
}


class CfrSource(Source):
    name = "cfr"
    priority = 60
    seasons = True
    required_columns = ("Player", "Team", "School", "Year", "G")
    name_column = "Player"

    def transform(self, record: Mapping[str, str]) -> Transformed:
        player = self.required_text(record, "Player")
        season = self.required_whole(record, "Year")
        team, school = text(record.get("Team")), text(record.get("School"))
        passing = school in (None, "0")
        college = team if passing else school
        if college in (None, "0"):
            raise RecordError("missing_required", "neither Team nor School names a college")
        assert college is not None
        kept, dropped = (_PASSING, _RUSHING_RECEIVING) if passing else (_RUSHING_RECEIVING, _PASSING)
        stats: dict[str, float | None] = {"games": number(record.get("G"), "G")}
        stats.update({field: number(record.get(column), column) for field, column in kept.items()})
        stats.update(dict.fromkeys(dropped))
        return Transformed(
            prospect=ProspectFacts(full_name=player, college=college),
            college_seasons=(CollegeSeasonFacts(season=season, team=college, stats=stats),),
        )
