"""Resolving a held record from Python, into a new person, and what is refused, in a database of this
module's own (decisions are kept across extractions, so they must not leak into other modules)."""

from __future__ import annotations

import os

import pytest

from etl_worker.errors import ConfigurationError, NotFoundError
from etl_worker.orchestrator import ETLOrchestrator
from tests.e2e.test_real_sources import SHARED, _stage
from tests.helpers import scalar

pytestmark = pytest.mark.skipif(
    not SHARED.exists() and os.environ.get("CI") != "true", reason="shared sample data is not beside the project"
)


@pytest.fixture(scope="module")
def held(settings, stack, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Joey Iosefa's 2015 records only: ESPN lists him twice, so its second listing is held for review."""
    tmp = tmp_path_factory.mktemp("iosefa")
    extraction_id = _stage(settings, tmp, {"nfl": 2015, "espn": 2015, "cfr": 2014}, lambda r: "Iosefa" in str(r))
    orchestrator = ETLOrchestrator(settings=settings)
    execution = orchestrator.execute_extraction_sync(extraction_id)
    assert execution.overall_status == "success", execution.error_summary
    review_id = scalar(settings, "SELECT review_id FROM match_reviews WHERE extraction_id = :x", x=extraction_id)
    return orchestrator, review_id, extraction_id


def test_a_held_record_resolved_as_a_new_person_is_loaded_as_one(settings, held) -> None:  # type: ignore[no-untyped-def]
    orchestrator, review_id, extraction_id = held
    people = scalar(settings, "SELECT count(*) FROM prospect_core WHERE name_key = 'joey iosefa'")
    resolved = orchestrator.resolve_review(review_id, new_person=True, decided_by="scout", reason="a third Iosefa")
    # ESPN's second listing (id 48584) carries a grade and a height and weight: a person of their own now.
    assert resolved.decision == "new_person" and resolved.loaded == {"grades": 1, "measurements": 1, "stats": 0}
    assert scalar(settings, "SELECT count(*) FROM prospect_core WHERE name_key = 'joey iosefa'") == people + 1
    shown = scalar(
        settings, "SELECT source_ids ->> 'espn' FROM prospect_core WHERE prospect_id = :p", p=resolved.prospect_id
    )
    assert shown == "48584"
    assert (
        scalar(
            settings,
            "SELECT count(*) FROM data_lineage WHERE canonical_id = :p AND canonical_table = 'prospect_core' "
            "AND extraction_id = :x AND match_method = 'review'",
            p=resolved.prospect_id,
            x=extraction_id,
        )
        == 1
    )


def test_what_a_resolution_refuses_in_one_line(settings, held) -> None:  # type: ignore[no-untyped-def]
    orchestrator, _, _ = held
    with pytest.raises(ConfigurationError, match="say where the record goes"):
        orchestrator.resolve_review(1, into=1, new_person=True)
    with pytest.raises(ConfigurationError, match="say where the record goes"):
        orchestrator.resolve_review(1)
    with pytest.raises(NotFoundError, match="review 999999 does not exist"):
        orchestrator.resolve_review(999999, new_person=True)
