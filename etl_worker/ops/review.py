"""Resolving what the merge held back: an operator places a held record on a person, or on a new one.

The decision is loaded at once, in one small transaction under the extraction's load ledger: the
record's facts are upserted as the load would have, and its lineage joins that of the loaded merge.
It is also kept by the source record's identity, so that the next extraction carrying the same record
places it the same way without asking again (``etl_worker.phases.resolve.resolve_block``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from etl_worker.db import canonical, reviews
from etl_worker.db.engine import transaction
from etl_worker.errors import ConfigurationError, FatalError, NotFoundError
from etl_worker.phases.resolve import Person, Record, merged_row, record_ids
from etl_worker.settings import Settings


@dataclass(frozen=True)
class Resolved:
    review_id: int
    decision: str  # into | new_person
    prospect_id: int
    match_key: str
    loaded: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def resolve(
    settings: Settings,
    review_id: int,
    *,
    into: int | None = None,
    new_person: bool = False,
    decided_by: str,
    reason: str | None = None,
) -> Resolved:
    """Place held record ``review_id`` on prospect ``into``, or on a new person (``new_person``)."""
    if (into is None) == (not new_person):
        raise ConfigurationError("say where the record goes: into a prospect id, or a new person")
    with transaction(settings.database_url) as conn:
        held = reviews.held(conn, review_id)
        if held is None:
            raise NotFoundError(f"review {review_id} does not exist (resolved already?)")
        merged_by = reviews.loaded_merge(conn, held["extraction_id"])
        if merged_by is None:
            raise FatalError(f"extraction {held['extraction_id']} is not loaded: resolve its reviews after its load")
        record = Record.from_row(held)
        if into is not None:
            target = canonical.prospect(conn, into)
            if target is None:
                raise NotFoundError(f"prospect {into} does not exist")
            # A candidate of the weighing may be in another name block ('Gaudchaux' for 'Godchaux').
            if target["surname_key"] != held["surname_key"] and target["match_key"] not in held["candidates"]:
                raise ConfigurationError(
                    f"prospect {into} ({target['full_name']}) is not in the record's name block "
                    f"({held['full_name']}): choose one of its candidates"
                )
            match_key, person_row = target["match_key"], None
        else:
            person = Person(f"{record.name_key}|{record.draft_year or '?'}|review:{review_id}", record.name_key, None)
            person.add(record)
            match_key = person.match_key
            person_row = {**merged_row(held["extraction_id"], person), "block_bucket": held["block_bucket"]}
        link = {
            "extraction_id": held["extraction_id"],
            "block_bucket": held["block_bucket"],
            "source": record.source,
            "row_number": record.row_number,
            "match_key": match_key,
            "method": "review",
            "confidence": 1.0,
        }
        loaded = canonical.load_record(conn, link, merged_by, record_ids(record), person_row)
        decision = "into" if into is not None else "new_person"
        reviews.resolve(conn, review_id, decision, match_key, decided_by, reason)
    return Resolved(review_id, decision, loaded["prospect_id"], match_key, loaded["loaded"])
