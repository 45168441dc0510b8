"""The naive baseline: what the original single-process orchestrator did, one row at a time with the ORM.

Each record is parsed by the same source adapter, its person looked up by name and class (select,
then add or update), its grades, measurements and seasons looked up and added or updated, with a
commit every 1,000 rows. Measured on a slice, reported as rows per second.
"""

from __future__ import annotations

import csv
import time
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, registry

from etl_worker.db.schema import prospect_college_stats, prospect_core, prospect_grades, prospect_measurements
from etl_worker.errors import RecordError
from etl_worker.normalize import name_key, position_group, surname_key
from etl_worker.sources import get_source


class Prospect:
    pass


class Grade:
    pass


class Measurement:
    pass


class Season:
    pass


_mapper = registry()
for cls, table in (
    (Prospect, prospect_core),
    (Grade, prospect_grades),
    (Measurement, prospect_measurements),
    (Season, prospect_college_stats),
):
    _mapper.map_imperatively(cls, table)


def _one(session: Session, cls: type, **keys: Any) -> Any:
    return session.execute(sa.select(cls).filter_by(**keys)).scalar_one_or_none()


def _upsert(session: Session, cls: type, keys: dict[str, Any], values: dict[str, Any]) -> Any:
    row = _one(session, cls, **keys)
    if row is None:
        row = cls()
        for k, v in keys.items():
            setattr(row, k, v)
        session.add(row)
    for k, v in values.items():
        setattr(row, k, v)
    return row


def load_row(session: Session, source: str, record: dict[str, str]) -> None:
    parsed = get_source(source).transform(record)
    p = parsed.prospect
    folded = name_key(p.full_name)
    person = _upsert(
        session,
        Prospect,
        {"match_key": f"{folded}|{p.draft_year}"},
        {
            "full_name": p.full_name,
            "name_key": folded,
            "surname_key": surname_key(folded),
            "position": p.position,
            "position_group": position_group(p.position),
            "college": p.college,
            "draft_year": p.draft_year,
            "source_ids": {source: p.source_player_id},
        },
    )
    session.flush()  # the person's id, for the facts below
    for g in parsed.grades:
        _upsert(
            session,
            Grade,
            {"prospect_id": person.prospect_id, "source": source, "grade_type": g.grade_type},
            {k: v for k, v in vars(g).items() if k != "grade_type"},
        )
    if parsed.measurements:
        _upsert(session, Measurement, {"prospect_id": person.prospect_id, "source": source}, dict(parsed.measurements))
    for s in parsed.college_seasons:
        keys = {"prospect_id": person.prospect_id, "source": source, "season": s.season, "team": s.team}
        _upsert(session, Season, keys, dict(s.stats))


def run_naive(database_url: str, paths: dict[str, Path], rows: int) -> dict[str, Any]:
    """Load the first rows of every file (``rows`` in all, split evenly); returns rows and seconds."""
    engine = sa.create_engine(database_url)
    per_source = max(1, rows // len(paths))
    done = quarantined = 0
    started = time.perf_counter()
    with Session(engine) as session:
        for source, path in paths.items():
            with path.open(newline="", encoding="utf-8") as handle:
                for record in islice(csv.DictReader(handle), per_source):
                    try:
                        load_row(session, source, record)
                    except RecordError:
                        quarantined += 1
                    done += 1
                    if done % 1000 == 0:
                        session.commit()
        session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"rows": done, "quarantined": quarantined, "seconds": seconds, "rows_per_second": done / seconds}
