"""The department's grades are on a 1-9 scale: a file with grades off it was exported wrong."""

from __future__ import annotations

import sqlalchemy as sa

from etl_worker.rules import Rule, Scope


def _off_scale(scope: Scope) -> dict[str, float]:
    if "scouting" not in scope.sources:
        return {}
    share = scope.conn.execute(
        sa.text(
            "SELECT avg(CASE WHEN grade BETWEEN 1 AND 9 THEN 0.0 ELSE 1.0 END) FROM work_grades "
            "WHERE extraction_id = :x AND source = 'scouting' AND grade IS NOT NULL"
        ),
        {"x": scope.extraction_id},
    ).scalar_one()
    return {"scouting": float(share or 0.0)}


# Any grade off the scale warns; more than one in ten fails the run before anything is loaded.
GRADE_SCALE = Rule("scouting_grade_scale", warn=0.0, fail=0.1, higher_is_worse=True, measure=_off_scale)
