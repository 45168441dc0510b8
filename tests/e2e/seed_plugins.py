"""Plug-ins a team writes in its own module: the workers import them by name (PYTHONPATH holds the repo)."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from celery import current_task

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


class RendezvousPffSource(PffSource):
    """PFF read by workers that meet: each worker's first PFF record waits (30 s at most) until two workers
    are transforming PFF, so that a run shows its batches shared however loaded the machine (a worker that
    never takes a batch fails the run's PFF batches with a clear error). The meeting place is the directory
    ``ETL_TEST_RENDEZVOUS`` of the test stack; each worker leaves its node name there."""

    def transform(self, record: Mapping[str, str]) -> Transformed:
        place = Path(os.environ["ETL_TEST_RENDEZVOUS"])
        (place / current_task.request.hostname).touch()
        deadline = time.monotonic() + 30
        while len(list(place.iterdir())) < 2:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no second worker took a PFF batch within 30 s (here: {sorted(place.iterdir())})")
            time.sleep(0.05)
        return super().transform(record)
