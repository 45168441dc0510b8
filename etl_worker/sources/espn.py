"""ESPN draft prospects: big-board rank, position rank and a 0-100 grade, with draft results.

Missing values are ``NA``; heights are whole inches. Big-board fields exist for 2004 onwards only.
"""

from __future__ import annotations

from collections.abc import Mapping

from etl_worker.errors import RecordError
from etl_worker.normalize import height_inches, number, text, whole
from etl_worker.sources.base import GradeFacts, ProspectFacts, Source, Transformed


class EspnSource(Source):
    name = "espn"
    priority = 30
    required_columns = ("draft_year", "player_id", "player_name", "pos_abbr", "school", "pos_rk", "ovr_rk", "grade")
    name_column = "player_name"

    def transform(self, record: Mapping[str, str]) -> Transformed:
        draft_year = self.required_whole(record, "draft_year")
        grade = number(record.get("grade"), "grade")
        if grade is not None and not 0 <= grade <= 100:
            raise RecordError("out_of_range", f"grade: {grade} is outside 0-100")
        rank, position_rank = whole(record.get("ovr_rk"), "ovr_rk"), whole(record.get("pos_rk"), "pos_rk")
        grades: tuple[GradeFacts, ...] = ()
        if grade is not None or rank is not None:
            grades = (
                GradeFacts(
                    "espn", grade, "espn_0_100", grade, rank=rank, position_rank=position_rank, season=draft_year
                ),
            )
        height, weight = height_inches(record.get("height")), number(record.get("weight"), "weight")
        return Transformed(
            prospect=ProspectFacts(
                full_name=self.required_text(record, "player_name"),
                position=text(record.get("pos_abbr")),
                college=text(record.get("school")),
                draft_year=draft_year,
                source_player_id=text(record.get("player_id")),
                draft_round=whole(record.get("round"), "round"),
                draft_pick=whole(record.get("overall"), "overall"),
                draft_team=text(record.get("team")),
            ),
            grades=grades,
            measurements={"height_in": height, "weight_lb": weight} if height or weight else None,
        )
