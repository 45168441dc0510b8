from __future__ import annotations

import pytest

from etl_worker.ops.alerts import p95


def test_p95_never_exceeds_the_largest_value_and_takes_one_value_as_is():
    assert p95([1.0]) == 1.0
    assert p95([1.0, 1.0, 1.0, 1.0, 10.0]) <= 10.0
    assert p95([float(i) for i in range(1, 101)]) == pytest.approx(95.05)
