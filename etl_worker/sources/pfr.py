"""Pro-Football-Reference combine export with draft results (nflverse ``combine.csv``).

Heights are "6-2" strings, missing values the literal ``NA``; ``season`` is the combine year (the
draft class), ``draft_year`` the year drafted (empty for the undrafted). pfr_id and cfb_id are kept.
"""

from __future__ import annotations

from collections.abc import Mapping

from etl_worker.normalize import height_inches, number, text, whole
from etl_worker.sources.base import ProspectFacts, Source, Transformed

_DRILLS = {
    "weight_lb": "wt",
    "forty": "forty",
    "bench": "bench",
    "vertical": "vertical",
    "broad": "broad_jump",
    "three_cone": "cone",
    "shuttle": "shuttle",
}


class PfrSource(Source):
    name = "pfr"
    priority = 20
    measures = True
    required_columns = ("season", "draft_year", "pfr_id", "cfb_id", "player_name", "pos", "school", "ht", "wt")
    name_column = "player_name"

    def transform(self, record: Mapping[str, str]) -> Transformed:
        season = self.required_whole(record, "season")
        measurements: dict[str, float | None] = {"height_in": height_inches(record.get("ht"))}
        measurements.update({field: number(record.get(column), column) for field, column in _DRILLS.items()})
        cfb_id = text(record.get("cfb_id"))
        return Transformed(
            prospect=ProspectFacts(
                full_name=self.required_text(record, "player_name"),
                position=text(record.get("pos")),
                college=text(record.get("school")),
                draft_year=season,
                source_player_id=text(record.get("pfr_id")),
                other_ids={"cfb": cfb_id} if cfb_id else {},
                draft_round=whole(record.get("draft_round"), "draft_round"),
                draft_pick=whole(record.get("draft_ovr"), "draft_ovr"),
                draft_team=text(record.get("draft_team")),
            ),
            measurements=measurements,
        )
