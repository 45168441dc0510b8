"""Yahoo big-board export (not public; the format is ours): overall rank and position rank.

Columns: ``player, position, school, draft_year, rank, position_rank``.
"""

from __future__ import annotations

from collections.abc import Mapping

from etl_worker.errors import RecordError
from etl_worker.normalize import text, whole
from etl_worker.sources.base import GradeFacts, ProspectFacts, Source, Transformed


class YahooSource(Source):
    name = "yahoo"
    priority = 50
    required_columns = ("player", "position", "school", "draft_year", "rank")
    name_column = "player"

    def transform(self, record: Mapping[str, str]) -> Transformed:
        rank = whole(record.get("rank"), "rank")
        if rank is None or rank < 1:
            raise RecordError("missing_required", "rank must be a positive number")
        draft_year = whole(record.get("draft_year"), "draft_year")
        return Transformed(
            prospect=ProspectFacts(
                full_name=self.required_text(record, "player"),
                position=text(record.get("position")),
                college=text(record.get("school")),
                draft_year=draft_year,
            ),
            grades=(
                GradeFacts(
                    "yahoo_rank",
                    None,
                    "rank",
                    None,
                    rank=rank,
                    position_rank=whole(record.get("position_rank"), "position_rank"),
                    season=draft_year,
                ),
            ),
        )
