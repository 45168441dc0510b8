"""PFF grades export (not public; the format is ours): overall and position grades, 0-100, per season.

Columns: ``pff_id, player, position, school, draft_year, season, grade_overall, grade_position``.
"""

from __future__ import annotations

from collections.abc import Mapping

from etl_worker.errors import RecordError
from etl_worker.normalize import number, text, whole
from etl_worker.sources.base import GradeFacts, ProspectFacts, Source, Transformed


class PffSource(Source):
    name = "pff"
    priority = 40
    required_columns = ("pff_id", "player", "position", "school", "draft_year", "season", "grade_overall")
    name_column = "player"

    def transform(self, record: Mapping[str, str]) -> Transformed:
        season = whole(record.get("season"), "season")
        grades = []
        for grade_type, column in (("pff_overall", "grade_overall"), ("pff_position", "grade_position")):
            grade = number(record.get(column), column)
            if grade is not None and not 0 <= grade <= 100:
                raise RecordError("out_of_range", f"{column}: {grade} is outside 0-100")
            if grade is not None:
                grades.append(GradeFacts(grade_type, grade, "pff_0_100", grade, season=season))
        return Transformed(
            prospect=ProspectFacts(
                full_name=self.required_text(record, "player"),
                position=text(record.get("position")),
                college=text(record.get("school")),
                draft_year=whole(record.get("draft_year"), "draft_year"),
                source_player_id=text(record.get("pff_id")),
            ),
            grades=tuple(grades),
        )
