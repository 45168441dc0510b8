"""The scouting department's export: one row per player it graded.

Columns: ``player, position, school, class, grade, scout``. ``grade`` is the department's 1-9 scale
(9: a first-round talent), kept as given and mapped onto 0-100 beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

from etl_worker.errors import RecordError
from etl_worker.normalize import number, text, whole
from etl_worker.sources.base import GradeFacts, ProspectFacts, Source, Transformed


class ScoutingSource(Source):
    name = "scouting"
    required_columns = ("player", "position", "school", "class", "grade")
    name_column = "player"
    priority = 70  # the department's spelling of a name yields to every public source

    def transform(self, record: Mapping[str, str]) -> Transformed:
        grade = number(record.get("grade"), "grade")
        if grade is None:
            raise RecordError("missing_required", "grade is empty")
        return Transformed(
            prospect=ProspectFacts(
                full_name=self.required_text(record, "player"),
                position=text(record.get("position")),
                college=text(record.get("school")),
                draft_year=whole(record.get("class"), "class"),
            ),
            grades=(GradeFacts("team_scouting", grade, "team_1_9", self.scaled(grade, 1, 9)),),
        )
