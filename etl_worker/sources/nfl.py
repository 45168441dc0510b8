"""NFL.com combine export: ten drills, arm and hand, NFL.com prospect grade and NGS draft grade."""

from __future__ import annotations

from collections.abc import Mapping

from etl_worker.normalize import height_inches, number, text
from etl_worker.sources.base import GradeFacts, ProspectFacts, Source, Transformed

_DRILLS = {
    "weight_lb": "weight",
    "arm_in": "arm_length",
    "hand_in": "hand_size",
    "forty": "forty_yard_dash",
    "ten_split": "ten_yard_split",
    "bench": "bench_press",
    "vertical": "vertical_jump",
    "broad": "broad_jump",
    "three_cone": "three_cone_drill",
    "shuttle": "twenty_yard_shuttle",
}


class NflSource(Source):
    name = "nfl"
    priority = 10
    measures = True
    required_columns = ("year", "player", "college", "position", "height", "weight", "person_id", "grade")
    name_column = "player"
    # NFL.com writes paragraphs into these two: 103 quoted values over several lines in the real export.
    multiline_columns = frozenset({"nfl_comparison", "draft_projection"})

    def transform(self, record: Mapping[str, str]) -> Transformed:
        year = self.required_whole(record, "year")
        measurements: dict[str, float | None] = {"height_in": height_inches(record.get("height"))}
        for field, column in _DRILLS.items():
            measurements[field] = number(record.get(column), column)
        return Transformed(
            prospect=ProspectFacts(
                full_name=self.required_text(record, "player"),
                position=text(record.get("position")),
                college=text(record.get("college")),
                draft_year=year,
                source_player_id=text(record.get("person_id")),
            ),
            grades=tuple(g for g in (self._prospect_grade(record, year), self._draft_grade(record)) if g),
            measurements=measurements,
        )

    def _prospect_grade(self, record: Mapping[str, str], year: int) -> GradeFacts | None:
        # 0.0 means "no grade"; 2012-13 used a 44-97 scale, other years 5.0-8.0.
        grade = number(record.get("grade"), "grade", zero_is_missing=True)
        if grade is None:
            return None
        if 2012 <= year <= 2013:
            return GradeFacts("nfl_prospect", grade, "nfl_44_97", self.scaled(grade, 44, 97), season=year)
        return GradeFacts("nfl_prospect", grade, "nfl_5_8", self.scaled(grade, 5, 8), season=year)

    def _draft_grade(self, record: Mapping[str, str]) -> GradeFacts | None:
        grade = number(record.get("draft_grade"), "draft_grade", zero_is_missing=True)
        if grade is None:
            return None
        return GradeFacts("ngs_draft", grade, "ngs_0_100", self.scaled(grade, 0, 100))
