"""Any input a source can be handed either parses or is a record error with a reason: never a crash."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl_worker.errors import RecordError
from etl_worker.sources import get_source, registry
from etl_worker.sources.base import Transformed

# Values a messy export holds: numbers, NA spellings, heights, junk, huge fields, odd unicode.
VALUES = st.one_of(
    st.sampled_from(["", "NA", "N/A", "nan", "0", "0.0", "6-2", "5'11\"", "75.5", "-3", "1e309", "inf", "TRUE", "0"]),
    st.integers(-10_000, 10_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=40),
    st.text(min_size=5_000, max_size=20_000),
)


@pytest.mark.parametrize("source", sorted(registry()))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_records_parse_or_are_quarantined(source, data):
    adapter = get_source(source)
    columns = list(adapter.required_columns) + data.draw(st.lists(st.text(max_size=10), max_size=3))
    record = {c: data.draw(VALUES) for c in columns if data.draw(st.booleans()) or c in adapter.required_columns}
    try:
        result = adapter.transform(record)
    except RecordError as exc:
        assert exc.rule and exc.reason
    else:
        assert isinstance(result, Transformed) and result.prospect.full_name.strip()
