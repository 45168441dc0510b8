"""The same input run twice, or replayed from the merge, changes nothing: the same people under the same
ids, the same review queue under the same review ids, the same figures; a decided review stays decided
(issue 24, item 3). Real public exports (2015 and 2018 classes), real workers, a database of its own."""

from __future__ import annotations

import os
from typing import Any

import pytest
import sqlalchemy as sa

from etl_worker.orchestrator import ETLOrchestrator
from tests.e2e.test_real_sources import SHARED, _stage

pytestmark = pytest.mark.skipif(
    not SHARED.exists() and os.environ.get("CI") != "true", reason="shared sample data is not beside the project"
)

CLASSES = {"nfl": 2015, "pfr": 2015, "espn": 2015, "cfr": 2014}


def _state(settings) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as conn:

            def all_rows(sql: str) -> list[tuple[Any, ...]]:
                return [tuple(r) for r in conn.execute(sa.text(sql))]

            return {
                "people": all_rows(
                    "SELECT prospect_id, match_key, full_name, college, position, draft_year, source_ids::text "
                    "FROM prospect_core ORDER BY prospect_id"
                ),
                "reviews": all_rows(
                    "SELECT review_id, source, row_number, reason, candidates::text FROM match_reviews ORDER BY review_id"
                ),
                "facts": all_rows(
                    " UNION ALL ".join(
                        f"SELECT '{t}', (to_jsonb(f) - 'id' - 'updated_at')::text FROM {t} f"
                        for t in ("prospect_grades", "prospect_measurements", "prospect_college_stats")
                    )
                    + " ORDER BY 1, 2"
                ),
                "lineage": all_rows(
                    "SELECT canonical_table, canonical_id, source, staging_row FROM data_lineage "
                    "WHERE canonical_table = 'prospect_core' ORDER BY 1, 2, 3, 4"
                ),
            }
    finally:
        engine.dispose()


def test_a_rerun_and_a_replay_change_no_person_no_review_and_no_figure(settings, stack, tmp_path):  # type: ignore[no-untyped-def]
    extraction_id = _stage(settings, tmp_path, CLASSES, lambda r: True)
    orchestrator = ETLOrchestrator(settings=settings)
    first = orchestrator.execute_extraction_sync(extraction_id)
    assert first.overall_status == "success", first.error_summary
    before = _state(settings)
    assert before["reviews"], "the 2015 class holds records for review (ESPN lists players twice)"

    again = orchestrator.execute_extraction_sync(extraction_id)
    assert again.overall_status == "success", again.error_summary
    assert _state(settings) == before

    replayed = orchestrator.wait(orchestrator.replay(first.execution_id, "merge"))
    assert replayed.overall_status == "success", replayed.error_summary
    assert _state(settings) == before
    assert replayed.total_prospects_loaded == first.total_prospects_loaded
    merged = [next(p for p in e.phases if p.phase == "merge").details for e in (first, replayed)]
    assert merged[0]["held_for_review"] == merged[1]["held_for_review"] == len(before["reviews"])

    # A decided review stays decided: the next run places the record by the decision, the rest keep their ids.
    decided_id = before["reviews"][0][0]
    orchestrator.resolve_review(decided_id, new_person=True, decided_by="scout", reason="their own person")
    after_decision = _state(settings)
    assert orchestrator.execute_extraction_sync(extraction_id).overall_status == "success"
    rerun = _state(settings)
    assert rerun["reviews"] == before["reviews"][1:]
    assert rerun["people"] == after_decision["people"]
