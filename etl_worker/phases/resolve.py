"""Entity resolution: which source records are one real person. Pure functions, no database.

Records are blocked by folded surname. Within a block, a record joins an existing or new person only on
evidence: the same source id; else the same draft class (a college season must come one to six
years before it), no other record of the same source already on that person, and a shared college
or else agreeing positions (a shared college is required for college seasons, which carry no class). When two people fit
equally well the record is held for review instead of guessed; so is a record its own source already
lists on a person of the same name, class, school and position (a player listed twice); when none fits
it starts a new person.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from etl_worker.normalize import (
    FirstNames,
    college_key,
    college_keys,
    colleges_overlap,
    first_names_compatible,
    first_names_typo_apart,
    positions_compatible,
    surname_key,
)
from etl_worker.sources import get_source

# Surname blocks are hashed into BUCKETS buckets; a merge part resolves a contiguous range of buckets,
# so the number of parts is chosen per run (etl_worker.phases.results.plan_merge_parts) without
# touching what the transform wrote.
BUCKETS = 1024


def block_bucket(surname: str) -> int:
    """The bucket of a surname block (stable across processes, runs and part counts)."""
    return zlib.crc32(surname.encode()) % BUCKETS


def part_buckets(part: int, parts: int) -> tuple[int, int]:
    """The buckets [low, high) that merge part ``part`` of ``parts`` resolves."""
    return part * BUCKETS // parts, (part + 1) * BUCKETS // parts


def _rank(source: str) -> int:
    """Which source's spelling of a name, position and college a merged person takes: lowest first."""
    return get_source(source).priority


def _seasons(source: str) -> bool:
    """Whether a source's records are college seasons, which carry no draft class."""
    return get_source(source).seasons


@dataclass
class Record:
    """One source record to place (a row of ``work_prospects``)."""

    source: str
    row_number: int
    full_name: str
    name_key: str
    position: str | None
    position_group: str | None
    college: str | None
    draft_year: int | None  # the draft class; for a college season, the season
    source_player_id: str | None = None
    other_ids: Mapping[str, str] | None = None
    draft_round: int | None = None
    draft_pick: int | None = None
    draft_team: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Record:
        """The record of a ``work_prospects`` row (its other columns are left out)."""
        return cls(**{f: row[f] for f in RECORD_COLUMNS})

    @property
    def colleges(self) -> frozenset[str]:
        return college_keys(self.college)  # cached per college string


RECORD_COLUMNS = tuple(f.name for f in fields(Record))  # what a record reads of its work_prospects row


def record_ids(record: Record) -> dict[str, str]:
    """The ids a record carries, by source (a PFR record also carries the CFB id)."""
    ids = dict(record.other_ids or {})
    if record.source_player_id:
        ids[record.source] = record.source_player_id
    return ids


@dataclass
class Person:
    """A person being resolved: an existing prospect or a new one, with what is known of them."""

    match_key: str
    name_key: str
    draft_year: int | None
    colleges: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    source_ids: dict[str, str] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    # What an operator placed here (rows and the ids they carry): another listing of the same source
    # is then no conflict, since the operator said both are this person.
    vouched: set[tuple[str, object]] = field(default_factory=set)
    # Every name it is known by: its own and its records' ('Temuchin Hodges' to NFL.com, 'Bucky Hodges'
    # to PFR): a college season may join on any of them.
    names: set[str] = field(default_factory=set)
    # The names its records went by when it was loaded: a record of a draft class may join on any of them.
    aliases: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.names.add(self.name_key)
        self.names |= self.aliases

    def add(self, record: Record) -> None:
        self.records.append(record)
        self.names.add(record.name_key)
        self.colleges |= record.colleges
        if record.position_group:
            self.groups.add(record.position_group)
        if not _seasons(record.source) and record.draft_year is not None and self.draft_year is None:
            self.draft_year = record.draft_year
        self.source_ids.update(record_ids(record))


@dataclass(frozen=True)
class Link:
    record: Record
    match_key: str
    method: str
    confidence: float
    evidence: Mapping[str, str] = field(default_factory=dict)  # what it shared with the person (``agreement``)


@dataclass(frozen=True)
class Review:
    record: Record
    reason: str
    candidates: list[str]


def existing_person(row: Mapping[str, Any]) -> Person:
    """A prospect already in ``prospect_core`` as a person records can join."""
    return Person(
        match_key=row["match_key"],
        name_key=row["name_key"],
        aliases=frozenset(row.get("name_keys") or ()),
        draft_year=row["draft_year"],
        colleges=set(college_keys(row["college"])),
        groups={row["position_group"]} if row["position_group"] else set(),
        source_ids=dict(row["source_ids"] or {}),
    )


def _class_fits(record: Record, person: Person) -> bool:
    if _seasons(record.source):
        season = record.draft_year
        return person.draft_year is None or season is None or season + 1 <= person.draft_year <= season + 6
    return person.draft_year is None or record.draft_year is None or person.draft_year == record.draft_year


def _conflicts(record: Record, person: Person) -> bool:
    """True when the record cannot be this person: another record or id of its source is there."""
    known = person.source_ids.get(record.source)
    if record.source_player_id and known and known != record.source_player_id:
        if (record.source, known) not in person.vouched:
            return True
    others = [r for r in person.records if r.source == record.source and (r.source, r.row_number) not in person.vouched]
    if _seasons(record.source):
        return any(r.draft_year == record.draft_year for r in others)
    return bool(others)


def _evidence(record: Record, person: Person) -> tuple[float, str] | None:
    """(score, method) for a record that may be this person; None when it cannot be."""
    # A college season may join on any name the person's records go by: the seasons are placed after every
    # draft-class record, in a first run as in a re-run. A draft-class record compares with the names the
    # person had when loaded (which of this run's records it has when another comes depends on their
    # order), and another source's name counts as a nickname does: only with the same school.
    seasons = _seasons(record.source)
    names = person.names if seasons else {person.name_key, *person.aliases}
    exact_name = record.name_key == person.name_key or (seasons and record.name_key in names)
    typo = False
    if not exact_name and not any(first_names_compatible(record.name_key, n) for n in names):
        # A slip only between two records of a draft class, the same one (checked below): a college
        # season (no class) would join whichever spelling came first, and two extractions cut
        # differently would not make the same people.
        typo = not _seasons(record.source) and person.draft_year is not None
        if not typo or not any(first_names_typo_apart(record.name_key, n) for n in names):
            return None
    if not _class_fits(record, person) or _conflicts(record, person):
        return None
    same_college = colleges_overlap(record.colleges, person.colleges)
    same_position = record.position_group is not None and record.position_group in person.groups
    if not exact_name:
        # 'Gabe Davis' / 'Gabriel Davis', or 'Javis Harrison' / 'Jarvis Harrison': only with the same
        # school (and class, checked above); a slip counts for less than a known nickname.
        if not same_college:
            return None
        if typo:
            return 2.2, "typo_class_college"
        return 2.5, ("nickname_college_season" if _seasons(record.source) else "nickname_class_college")
    if _seasons(record.source):
        return (3.0, "name_college_season") if same_college else None
    if not same_college:
        # Without a shared school, positions must agree: players do move (safety to linebacker,
        # quarterback to receiver) between college and the combine, so with one they need not.
        compatible = [positions_compatible(record.position_group, g) for g in person.groups]
        if compatible and not any(compatible) and None not in compatible:
            return None
        if record.colleges and person.colleges and not same_position:
            return None
    score = 1.0 + (2.0 if same_college else 0.0) + (1.0 if same_position else 0.0)
    if same_college:
        return score, "name_class_college"
    return score, ("name_class_position" if same_position else "name_class")


def agreement(record: Record, person: Person) -> dict[str, str]:
    """What a record shared with the person it joined, field by field, as the person stood before it
    joined (one word each: same, nickname, slip, season, compatible, differs, unknown): what
    ``etl-worker explain`` and the console show for a link."""
    if record.name_key in person.names:
        name = "same"
    elif any(first_names_compatible(record.name_key, n) for n in person.names):
        name = "nickname"  # or a shortening: 'Takk' / 'Takkarist'
    elif any(first_names_typo_apart(record.name_key, n) for n in person.names):
        name = "slip"
    else:
        name = "differs"
    if _seasons(record.source):
        draft_class = "season"  # a college season: no class of its own
    elif record.draft_year is None or person.draft_year is None:
        draft_class = "unknown"
    else:
        draft_class = "same" if record.draft_year == person.draft_year else "differs"
    if not record.colleges or not person.colleges:
        college = "unknown"
    else:
        college = "same" if colleges_overlap(record.colleges, person.colleges) else "differs"
    if record.position_group is None or not person.groups:
        position = "unknown"
    elif record.position_group in person.groups:
        position = "same"
    else:
        compatible = any(positions_compatible(record.position_group, g) for g in person.groups)
        position = "compatible" if compatible else "differs"
    facts = {"name": name, "class": draft_class, "college": college, "position": position}
    shared = [f"{s} {v}" for s, v in record_ids(record).items() if person.source_ids.get(s) == v]
    if shared:
        facts["id"] = ", ".join(shared)
    return facts


_CONFIDENCE = {
    "source_id": 1.0,
    "name_class_college": 0.97,
    "name_college_season": 0.9,
    "nickname_class_college": 0.85,
    "nickname_college_season": 0.8,
    "typo_class_college": 0.8,
    "name_class_position": 0.85,
    "name_class": 0.75,
    "new": 1.0,
    "review": 1.0,  # placed by an operator
}


def _listed_twice(record: Record, named: list[Person]) -> Person | None:
    """A person the record's own source already lists (another id, another row) under the same name,
    class, school and position: most likely one player the source listed twice. Two records of one
    source never join one person by evidence, so without this it would silently become two.

    The other listing is compared as the source wrote it (a person may go by another source's spelling);
    a prospect loaded before, whose records are not at hand, by its own name, class, school and position.
    ``named``: the people known by the record's name (through a record of theirs or their own).
    """
    if _seasons(record.source) or record.draft_year is None or record.position_group is None:
        return None

    def same(name: str, year: int | None, groups: Collection[str | None], colleges: Collection[str]) -> bool:
        return (
            name == record.name_key
            and year == record.draft_year
            and record.position_group in groups
            and colleges_overlap(record.colleges, colleges)
        )

    for person in named:
        listings = [r for r in person.records if r.source == record.source]
        if listings:
            if any(same(r.name_key, r.draft_year, (r.position_group,), r.colleges) for r in listings):
                return person
        elif record.source in person.source_ids:
            if same(person.name_key, person.draft_year, person.groups, person.colleges):
                return person
    return None


class _Block:
    """The people of one surname block in the order they came, found by what a record may share with
    them (a first name, a name, an id) instead of by comparing the record with each of them."""

    def __init__(self, people: Iterable[Person]) -> None:
        self.people: list[Person] = []
        self._ordinal: dict[int, int] = {}
        self._first_names = FirstNames()
        self._by_first: dict[str, list[Person]] = {}
        self._by_name: dict[str, list[Person]] = {}
        self._by_id: dict[tuple[str, str], list[Person]] = {}
        for person in people:
            self.add(person)

    def add(self, person: Person) -> None:
        """A person new to the block."""
        self._ordinal[id(person)] = len(self.people)
        self.people.append(person)
        for name in sorted(person.names):  # its own and, loaded, the names its records went by
            self._index_first(name, person)
            self._index(self._by_name, name, person)
        for key in person.source_ids.items():
            self._index(self._by_id, key, person)

    def place(self, person: Person, record: Record) -> None:
        """``record`` joins ``person`` (one of the block's)."""
        person.add(record)
        self._index_first(record.name_key, person)
        self._index(self._by_name, record.name_key, person)
        for key in record_ids(record).items():
            self._index(self._by_id, key, person)

    def _index_first(self, name_key: str, person: Person) -> None:
        first = name_key.split()[0]
        self._first_names.add(first)
        self._index(self._by_first, first, person)

    @staticmethod
    def _index(index: dict[Any, list[Person]], key: Any, person: Person) -> None:
        listed = index.setdefault(key, [])
        if not any(p is person for p in listed):  # by identity: people are not values
            listed.append(person)

    def _in_order(self, people: Iterable[Person]) -> list[Person]:
        return sorted(people, key=lambda p: self._ordinal[id(p)])

    def named_like(self, name_key: str) -> list[Person]:
        """The people whose first name ``name_key``'s may be, or be a slip of (every other gives no evidence)."""
        first = name_key.split()[0]
        names = self._first_names.compatible(first) | self._first_names.typo_apart(first)
        found = {id(p): p for name in names for p in self._by_first[name]}  # a person known by two of them once
        return self._in_order(found.values())

    def named(self, name_key: str) -> list[Person]:
        """The people known by ``name_key``: their own name, or a record's."""
        return self._in_order(self._by_name.get(name_key, ()))

    def by_id(self, record: Record, trusted: bool) -> Person | None:
        """The first person carrying an id of the record (in the record's order of ids) it can join."""
        if not trusted:
            return None
        for source, value in record_ids(record).items():
            for person in self._in_order(self._by_id.get((source, value), ())):
                if person.source_ids.get(source) == value and not _conflicts(record, person):
                    return person
        return None


def resolve_block(
    extraction_id: str,
    records: list[Record],
    existing: Iterable[Person],
    untrusted_ids: set[tuple[str, str]],
    decided: Mapping[tuple[str, int], str] | None = None,
    loaded: Mapping[tuple[str, int], Link] | None = None,
) -> tuple[list[Person], list[Link], list[Review]]:
    """Place every record of one name block; returns the people touched, the links and the reviews.

    A record an operator placed before (``decided``: (source, row) -> the person's match key, from a
    resolved review) goes to that person without evidence being weighed. So does a record the loaded
    merge of its extraction placed (``loaded``: (source, row) -> that link): run again or replayed, an
    extraction keeps the people, keys and links it loaded, and only its other records (a source that
    failed before, a record held for review) are resolved, against the same people as the first time.
    """
    block = _Block(existing)
    people = block.people
    links: list[Link] = []
    reviews: list[Review] = []
    decided = decided or {}
    loaded = loaded or {}
    ordered = sorted(
        records,
        key=lambda r: (
            (r.source, r.row_number) not in decided,  # what an operator placed first: it is certain
            (r.source, r.row_number) not in loaded,  # then what the loaded merge placed
            _seasons(r.source),
            _rank(r.source),
            r.draft_year or 0,
            r.row_number,
        ),
    )
    for record in ordered:
        key = decided.get((record.source, record.row_number))
        if key is not None:
            person = next((p for p in people if p.match_key == key), None)
            if person is None:
                person = Person(key, record.name_key, None if _seasons(record.source) else record.draft_year)
                block.add(person)
            block.place(person, record)
            person.vouched |= {(record.source, record.row_number), (record.source, record.source_player_id)}
            links.append(Link(record, key, "review", _CONFIDENCE["review"], {"decided": "by an operator"}))
            continue
        before = loaded.get((record.source, record.row_number))
        if before is not None:
            person = next((p for p in people if p.match_key == before.match_key), None)
            if person is None:
                person = Person(
                    before.match_key, record.name_key, None if _seasons(record.source) else record.draft_year
                )
                block.add(person)
            block.place(person, record)
            links.append(Link(record, before.match_key, before.method, before.confidence, before.evidence))
            continue
        trusted = bool(record.source_player_id) and (record.source, record.source_player_id) not in untrusted_ids
        person = block.by_id(record, trusted)
        method = "source_id"
        if person is None:
            scored = sorted(
                ((e[0], e[1], p) for p in block.named_like(record.name_key) if (e := _evidence(record, p)) is not None),
                key=lambda t: -t[0],
            )
            if len(scored) > 1 and scored[0][0] == scored[1][0]:
                reviews.append(Review(record, "several people fit equally well", [p.match_key for _, _, p in scored]))
                continue
            if scored:
                _, method, person = scored[0]
            elif (twin := _listed_twice(record, block.named(record.name_key))) is not None:
                listed = twin.source_ids.get(record.source) or "another row"
                reason = (
                    f"listed twice by {record.source}: same name, class, school and position as {listed}; "
                    "suggestion: the same person"
                )
                reviews.append(Review(record, reason, [twin.match_key]))
                continue
            else:
                method = "new"
        if person is None:
            year = "?" if _seasons(record.source) else record.draft_year
            person = Person(
                match_key=f"{record.name_key}|{year}|{extraction_id[:8]}:{record.source}:{record.row_number}",
                name_key=record.name_key,
                draft_year=None if _seasons(record.source) else record.draft_year,
            )
            block.add(person)
        evidence = {} if method == "new" else agreement(record, person)
        block.place(person, record)
        links.append(Link(record, person.match_key, method, _CONFIDENCE[method], evidence))
    return [p for p in people if p.records], links, reviews


SPELLED = ("full_name", "position", "position_group", "college")  # fields the sources spell differently


def merged_row(extraction_id: str, person: Person) -> dict[str, Any]:
    """The ``work_merged_prospects`` row of a resolved person: best spelling first, every source id, and
    per field the priority of the source it came from (``ranks``: the load keeps the most trusted)."""
    records = sorted(person.records, key=lambda r: (_rank(r.source), r.row_number))
    chosen = {f: next((r for r in records if getattr(r, f) is not None), None) for f in SPELLED}
    draft = next((r for r in records if r.draft_pick is not None), None)  # the most trusted source's pick
    ranks = {f: _rank(r.source) for f, r in chosen.items() if r is not None}
    if draft is not None:
        ranks["draft"] = _rank(draft.source)
    return {
        "extraction_id": extraction_id,
        "match_key": person.match_key,
        **{f: getattr(r, f) if r is not None else None for f, r in chosen.items()},
        "college_key": college_key(chosen["college"].college) if chosen["college"] is not None else None,
        "name_key": person.name_key,
        "name_keys": sorted({person.name_key, *(r.name_key for r in records)}),
        "surname_key": surname_key(person.name_key),
        "draft_year": person.draft_year,
        "source_ids": {k: v for r in records for k, v in record_ids(r).items()},
        "source_records": len(records),
        "draft_round": draft.draft_round if draft else None,
        "draft_pick": draft.draft_pick if draft else None,
        "draft_team": draft.draft_team if draft else None,
        "ranks": ranks,
    }


_DRAFT = ("draft_round", "draft_pick", "draft_team")
_COLUMNS = {"college": ("college", "college_key"), "draft": _DRAFT}  # a ranked field's columns, when not its own


def combined_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One merged row of people found to be one (``etl_worker.phases.weigh``): the first row's key, name
    and block; per field the value of the most trusted source (``ranks``); every source id."""
    combined = {**rows[0], "ranks": dict(rows[0]["ranks"]), "source_ids": dict(rows[0]["source_ids"])}
    ranks = combined["ranks"]
    for row in rows[1:]:
        for name in (*SPELLED, "draft"):
            rank = row["ranks"].get(name)
            if rank is not None and rank < ranks.get(name, rank + 1):
                combined.update({c: row[c] for c in _COLUMNS.get(name, (name,))})
                ranks[name] = rank
        combined["source_ids"] = {**row["source_ids"], **combined["source_ids"]}
        combined["source_records"] += row["source_records"]
        combined["name_keys"] = sorted({*combined["name_keys"], *row["name_keys"]})
        if combined["draft_year"] is None:
            combined["draft_year"] = row["draft_year"]
    return combined
