"""Plug-ins a team writes in its own module: the workers import them by name (PYTHONPATH holds the repo)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from etl_worker.rules import Rule, Scope
from etl_worker.sources.base import Transformed
from etl_worker.sources.pff import PffSource


class TeamPffSource(PffSource):
    """PFF read the team's way: its grades are filed under the team's own grade types."""

    def transform(self, record: Mapping[str, str]) -> Transformed:
        parsed = super().transform(record)
        return replace(parsed, grades=tuple(replace(g, grade_type=f"team_{g.grade_type}") for g in parsed.grades))


def _rows(scope: Scope) -> dict[str, float]:
    return {"all": float(sum(v["succeeded"] for v in scope.volumes().values()))}


# A bar no fixture reaches: a run that applies it fails at validate.
NEEDS_A_MILLION_ROWS = Rule("team_needs_a_million_rows", warn=1e6, fail=1e6, higher_is_worse=False, measure=_rows)
