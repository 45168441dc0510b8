"""The bench's projection: serial steps stay serial, fan-outs spread over the workers, barriers between."""

from __future__ import annotations

from bench.timeline import list_schedule, makespan, serial_seconds

RUN = {
    "etl.extract": [1.0],
    "etl.transform": [4.0, 4.0, 4.0, 4.0],
    "etl.validate": [2.0],
    "etl.merge_part": [3.0, 1.0, 1.0, 1.0],
    "etl.merge": [0.5],
    "etl.load": [5.0],
    "etl.publish": [1.5],
}


def test_a_fan_out_is_list_scheduled_in_the_order_its_tasks_started() -> None:
    assert list_schedule([4.0, 4.0, 4.0, 4.0], 1) == 16.0
    assert list_schedule([4.0, 4.0, 4.0, 4.0], 2) == 8.0
    assert list_schedule([3.0, 1.0, 1.0, 1.0], 2) == 3.0
    assert list_schedule([4.0, 4.0], 8) == 4.0
    assert list_schedule([], 4) == 0.0


def test_serial_steps_bound_what_more_workers_can_do() -> None:
    assert serial_seconds(RUN) == 10.0
    assert makespan(RUN, 1) == 10.0 + 16.0 + 6.0
    assert makespan(RUN, 2) == 10.0 + 8.0 + 3.0
    assert makespan(RUN, 32) == 10.0 + 4.0 + 3.0  # Amdahl: the serial 10 s stay
