"""The range rules, all computed in one scan, give per position group the share a plain count gives."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from etl_worker import rules
from etl_worker.db.engine import transaction
from etl_worker.ingest import ingest_file
from etl_worker.phases import transform
from etl_worker.phases.results import Batch, RunContext


def test_every_range_rule_matches_a_plain_count_per_position_group(settings):
    staged = ingest_file(settings, "nfl", Path(__file__).parents[1] / "fixtures" / "nfl.csv")
    execution_id = str(uuid.uuid4())
    ctx = RunContext(execution_id, staged.extraction_id, ("nfl",), datetime(2030, 1, 1, tzinfo=UTC), execution_id)
    assert transform.transform(settings, ctx, Batch("nfl", 0, 1, staged.rows), "test", None)["status"] == "success"
    fields = ", ".join(f"m.{f}" for f in rules._RANGES)
    with transaction(settings.database_url) as conn:
        # An offensive lineman of 500 lb and a 3.1 s forty: out of range in their groups.
        conn.execute(
            sa.text(
                "UPDATE work_measurements m SET weight_lb = 500, forty = 3.1 FROM work_prospects p "
                "WHERE p.extraction_id = m.extraction_id AND p.source = m.source AND p.row_number = m.row_number "
                "AND m.extraction_id = :x AND p.full_name = 'Brandon Scherff'"
            ),
            {"x": staged.extraction_id},
        )
        rows = conn.execute(
            sa.text(
                f"SELECT coalesce(p.position_group, 'unknown') AS grp, {fields} FROM work_measurements m "
                "JOIN work_prospects p USING (extraction_id, source, row_number) WHERE m.extraction_id = :x"
            ),
            {"x": staged.extraction_id},
        ).all()
        metrics = rules.run_rules(conn, staged.extraction_id, ["nfl"], [])

    expected: dict[tuple[str, str], float] = {}
    for name, ranges in rules._RANGES.items():
        by_group: dict[str, list[bool]] = {}
        for row in rows:
            value = row._mapping[name]
            if value is not None:
                low, high = ranges.get(row.grp, ranges[None])
                by_group.setdefault(row.grp, []).append(not low <= value <= high)
        for group, bad in by_group.items():
            expected[(f"{name.removesuffix('_in').removesuffix('_lb')}_range", group)] = sum(bad) / len(bad)
    measured = {(m["rule"], m["scope"]): m["value"] for m in metrics if m["rule"].endswith("_range")}
    assert measured == expected
    assert measured[("weight_range", "OL")] > 0 and measured[("forty_range", "OL")] > 0
