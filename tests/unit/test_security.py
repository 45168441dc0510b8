"""Names from input never become SQL; secrets never reach a message."""

from __future__ import annotations

import pytest

from etl_worker.db.engine import safe_url
from etl_worker.db.staging import staging_table
from etl_worker.errors import ConfigurationError
from etl_worker.sources import get_source


@pytest.mark.parametrize("name", ["pff; DROP TABLE prospect_core", "pff_staging", "../nfl", "NFL", ""])
def test_a_source_name_that_is_not_registered_is_refused(name):
    with pytest.raises(ConfigurationError):
        get_source(name)
    with pytest.raises(ConfigurationError):
        staging_table(name)


def test_urls_shown_to_people_hide_the_password():
    shown = safe_url("postgresql+psycopg2://scout:s3cret@db.example:5432/etl")
    assert "s3cret" not in shown and "db.example" in shown
