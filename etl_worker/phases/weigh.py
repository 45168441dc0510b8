"""Weighed evidence: whether two people the surname blocks kept apart are one person.

The surname blocks (``etl_worker.phases.resolve``) join records on a name spelled alike; a slip in a
surname ('Bel' for 'Bell') puts the two records in different blocks. After the blocks, the people of one
draft class that share a college, or a weight, are compared field by field: name (Jaro-Winkler over
the folded full name, rapidfuzz), college, position group and the combine measurements, which the sites
copy from the same combine. Each field's level adds its Fellegi-Sunter weight, log2(m / u): m the share of
same-person pairs at that level, u the share of other pairs. The u shares and the measurements' m shares
were counted on the real 2015-2020 NFL.com and PFR combine files (16,196 pairs of one class sharing a
college or a weight, 1,959 of them one person); a name's m shares are set, not counted, since those files
almost never misspell: one name in 50 another site writes a letter or two apart. The sum, with the prior
odds, is the log2 odds that the pair is one person: at ``link_above`` or over, one person; at
``review_above`` or over, a pair an operator should see; below, two people.

Two loaded prospects are never joined here (that is a decision the runs that loaded them made), nor two
people a source lists each (one source does not list one player twice by evidence), nor two people of
different colleges (a transfer, or a different player: a slip of the name and a move of school at once
is for an operator).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import OSA, JaroWinkler

from etl_worker.normalize import college_keys, colleges_overlap, first_names_compatible, positions_compatible
from etl_worker.sources import get_source

PRIOR = -2.9  # log2 of the prior odds: 1,959 same-person pairs among 16,196 candidates

# field -> (level, weight): the first level whose test holds is the field's; a field unknown on either
# side counts nothing.
WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "name": {"same": 13.2, "nickname": 7.2, "slip": 6.0, "close": 1.5, "far": -3.4, "differs": -11.9},
    "college": {"same": 0.6, "differs": -4.1},
    "position": {"same": 2.2, "compatible": 0.1, "differs": -7.3},
    "height": {"same": 2.7, "near": -2.2, "differs": -5.6},
    "weight": {"same": 1.4, "near": -1.1, "differs": -6.8},
    "forty": {"same": 6.0, "near": -4.6, "differs": -6.7},
    "bench": {"same": 4.6, "differs": -9.2},
    "vertical": {"same": 5.0, "differs": -7.7},
    "broad": {"same": 5.0, "differs": -6.2},
    "three_cone": {"same": 6.9, "differs": -10.2},
    "shuttle": {"same": 6.2, "differs": -10.4},
}

# measurement -> (the field of the profile, most a 'same' may differ, most a 'near' may differ)
_TOLERANCES = {
    "height": ("height_in", 0.5, 1.0),  # PFR rounds to the inch; NFL.com has eighths
    "weight": ("weight_lb", 0.0, 8.0),
    "forty": ("forty", 0.0, 0.05),
    "bench": ("bench", 0.0, 0.0),
    "vertical": ("vertical", 0.0, 0.0),
    "broad": ("broad", 0.0, 0.0),
    "three_cone": ("three_cone", 0.0, 0.0),
    "shuttle": ("shuttle", 0.0, 0.0),
}


@dataclass(frozen=True)
class Profile:
    """A person as the weighing sees them: what their records say, the most trusted source first."""

    match_key: str
    draft_year: int
    sources: frozenset[str]
    names: tuple[str, ...]  # folded names
    colleges: frozenset[str]
    groups: frozenset[str]
    college_blocks: frozenset[str] = frozenset()  # each record's college folded whole: a blocking key
    measurements: Mapping[str, float] = field(default_factory=dict)
    source_ids: Mapping[str, str] = field(default_factory=dict)
    loaded: bool = False  # a prospect already in the canonical tables: it keeps its key
    rank: int = 0  # the priority of its most trusted source: the lower one keeps its key
    full_name: str = ""  # as its most trusted source spells it


MEASURED = tuple(column for column, _, _ in _TOLERANCES.values())  # what a profile reads of the measurements


def profile(match_key: str, rows: Iterable[Mapping[str, Any]], loaded: bool = False) -> Profile | None:
    """The profile of a person from their records (``work_prospects`` columns and the ``MEASURED``
    measurements, one mapping each): None for a person of no draft class (college seasons only)."""
    records = sorted(rows, key=lambda r: (get_source(r["source"]).priority, r["row_number"]))
    year = next((r["draft_year"] for r in records if not get_source(r["source"]).seasons and r["draft_year"]), None)
    if year is None:
        return None
    measurements: dict[str, float] = {}
    for r in records:
        for column in MEASURED:
            if r.get(column) is not None:
                measurements.setdefault(column, r[column])
    ids: dict[str, str] = {}
    for r in records:
        ids.update(r.get("other_ids") or {})
        if r["source_player_id"]:
            ids[r["source"]] = r["source_player_id"]
    return Profile(
        match_key=match_key,
        draft_year=year,
        sources=frozenset(r["source"] for r in records),
        names=tuple(dict.fromkeys(r["name_key"] for r in records)),
        colleges=frozenset(c for r in records for c in college_keys(r["college"])),
        college_blocks=frozenset(r["college_key"] for r in records if r.get("college_key")),
        groups=frozenset(r["position_group"] for r in records if r["position_group"]),
        measurements=measurements,
        source_ids=ids,
        loaded=loaded,
        rank=get_source(records[0]["source"]).priority,
        full_name=records[0].get("full_name") or records[0]["name_key"],
    )


def joined(ours: Profile, loaded: Profile) -> Profile:
    """A person of this run who is a loaded prospect: what the run's records say, then what the prospect
    holds (its other sources and ids among them); loaded, so it keeps its key."""
    return Profile(
        match_key=ours.match_key,
        draft_year=ours.draft_year,
        sources=ours.sources | loaded.sources,
        names=tuple(dict.fromkeys((*ours.names, *loaded.names))),
        colleges=ours.colleges | loaded.colleges,
        groups=ours.groups | loaded.groups,
        college_blocks=ours.college_blocks | loaded.college_blocks,
        measurements={**loaded.measurements, **ours.measurements},
        source_ids={**loaded.source_ids, **ours.source_ids},
        loaded=True,
        rank=min(ours.rank, loaded.rank),
        full_name=ours.full_name,
    )


def _name_level(a: str, b: str) -> str:
    if a == b:
        return "same"
    if first_names_compatible(a, b):
        return "nickname"
    similarity = JaroWinkler.similarity(a, b)
    if similarity >= 0.92:
        return "slip"
    if similarity >= 0.85:
        return "close"
    return "far" if similarity >= 0.7 else "differs"


def compare(a: Profile, b: Profile) -> dict[str, str]:
    """Each field's level for the pair (fields unknown on either side are left out)."""
    name_weights = WEIGHTS["name"]
    levels = {"name": max((_name_level(x, y) for x in a.names for y in b.names), key=name_weights.__getitem__)}
    if a.colleges and b.colleges:
        levels["college"] = "same" if colleges_overlap(a.colleges, b.colleges) else "differs"
    if a.groups and b.groups:
        if a.groups & b.groups:
            levels["position"] = "same"
        else:
            compatible = any(positions_compatible(x, y) for x in a.groups for y in b.groups)
            levels["position"] = "compatible" if compatible else "differs"
    for name, (column, same, near) in _TOLERANCES.items():
        x, y = a.measurements.get(column), b.measurements.get(column)
        if x is None or y is None:
            continue
        apart = abs(x - y)
        levels[name] = "same" if apart <= same + 1e-9 else "near" if apart <= near + 1e-9 else "differs"
    return levels


def weigh(levels: Mapping[str, str]) -> tuple[float, dict[str, float]]:
    """The pair's log2 odds of being one person, and what each field added to them."""
    parts = {name: WEIGHTS[name].get(level, 0.0) for name, level in levels.items()}
    return round(PRIOR + sum(parts.values()), 2), parts


@dataclass(frozen=True)
class Fold:
    """``absorbed`` is ``into``: its records join that person (scored, with the evidence of each field)."""

    absorbed: str
    into: str
    score: float
    evidence: Mapping[str, str]


@dataclass(frozen=True)
class Doubt:
    """Two people who may be one: scored between the thresholds."""

    first: str
    second: str
    score: float
    evidence: Mapping[str, str]


def weight_bins(weight: float) -> tuple[int, int]:
    """Two bins of 10 lb, one shifted by 5: two weights less than 5 lb apart share one of them."""
    return int(weight // 10), int((weight + 5) // 10)


def _blocks(profiles: Iterable[Profile]) -> dict[tuple[object, ...], list[Profile]]:
    """People who may be one: of one class, with a first name or a surname in common, and the same school
    or about the same weight. ``etl_worker.db.work.weighing_candidates`` finds the same blocks in SQL."""
    blocks: dict[tuple[object, ...], list[Profile]] = {}
    for p in profiles:
        weight = p.measurements.get("weight_lb")
        near: list[tuple[object, ...]] = [("college", c) for c in p.college_blocks]
        if weight is not None:
            near += [("weight", shift, weight_bin) for shift, weight_bin in enumerate(weight_bins(weight))]
        keys = set()
        for name in p.names:
            words = name.split()
            for where in near:
                keys.add((p.draft_year, *where, "first", words[0]))
                keys.add((p.draft_year, *where, "surname", words[-1]))
        for key in keys:
            blocks.setdefault(key, []).append(p)
    return blocks


def _pairs(profiles: Iterable[Profile]) -> Iterator[tuple[Profile, Profile]]:
    """The pairs of a block that may join: never two loaded prospects, and two people of this run only when
    no source lists both (an id they share would be one id in two records of the run: untrusted). The
    people of a block are grouped by their sources first, so that many people listed alike (the same
    player in every source, class after class) cost nothing."""
    for block in _blocks(profiles).values():
        groups: dict[tuple[frozenset[str], bool], list[Profile]] = {}
        for p in block:
            groups.setdefault((p.sources, p.loaded), []).append(p)
        kinds = list(groups)
        for i, (sources, loaded) in enumerate(kinds):
            for other_sources, other_loaded in kinds[i + 1 :]:
                if (loaded and other_loaded) or (not loaded and not other_loaded and sources & other_sources):
                    continue
                for a in groups[(sources, loaded)]:
                    for b in groups[(other_sources, other_loaded)]:
                        yield a, b


def _surnames_near(a: Profile, b: Profile) -> bool:
    """Whether two people's surnames may be one: the same, a slip or two apart (OSA distance two at most,
    or Jaro-Winkler 0.7 or over), or one part of the other (a hyphenated surname written in part); the
    words after the first name compared."""
    for x in a.names:
        for y in b.names:
            first, second = x.split()[1:], y.split()[1:]
            if set(first) & set(second):
                return True
            joined, other = "".join(first), "".join(second)
            if OSA.distance(joined, other) <= 2 or JaroWinkler.similarity(joined, other) >= 0.7:
                return True
    return False


def _evidence(levels: Mapping[str, str], parts: Mapping[str, float]) -> dict[str, str]:
    return {name: f"{level} {parts[name]:+.1f}" for name, level in levels.items()}


def waterfall(evidence: Mapping[str, str]) -> list[tuple[str, float, float]]:
    """A weighed link's evidence as the steps from the prior to its score: (field and level, its weight,
    the log2 odds so far); empty for a link weighed by a shared id."""
    if "id" in evidence:
        return []
    steps = [("prior", PRIOR, PRIOR)]
    for name in WEIGHTS:
        if name in evidence:
            level, _, weight = evidence[name].rpartition(" ")
            steps.append((f"{name} {level}", float(weight), round(steps[-1][2] + float(weight), 2)))
    return steps


def reconcile(profiles: Iterable[Profile], link_above: float, review_above: float) -> tuple[list[Fold], list[Doubt]]:
    """Which people of this run join whom, strongest pair first; the same profiles give the same answer
    in any order. A person shares an id with a loaded prospect: it is that prospect whatever the score."""
    everyone = sorted(profiles, key=lambda p: p.match_key)
    keep = {p.match_key: p for p in everyone}
    scored: list[tuple[float, str, str, dict[str, str]]] = []
    seen: set[tuple[str, str]] = set()
    for a, b in _pairs(everyone):
        pair = (a.match_key, b.match_key) if a.match_key < b.match_key else (b.match_key, a.match_key)
        if pair in seen:
            continue
        seen.add(pair)
        shared = sorted(f"{s} {v}" for s, v in a.source_ids.items() if b.source_ids.get(s) == v)
        if shared:
            scored.append((float("inf"), *pair, {"id": ", ".join(shared)}))
            continue
        if a.sources & b.sources or not _surnames_near(a, b):
            continue
        levels = compare(a, b)
        score, parts = weigh(levels)
        if score >= review_above:
            scored.append((score, *pair, _evidence(levels, parts)))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    owner = {key: key for key in keep}
    sources = {key: set(p.sources) for key, p in keep.items()}

    def root(key: str) -> str:
        while owner[key] != key:
            key = owner[key]
        return key

    folds: list[Fold] = []
    doubts: list[Doubt] = []
    for score, first, second, evidence in scored:
        one, other = root(first), root(second)
        if one == other or (keep[one].loaded and keep[other].loaded):
            continue
        if score != float("inf"):
            if sources[one] & sources[other]:
                continue
            if score < link_above or evidence.get("college", "").startswith("differs"):
                doubts.append(Doubt(first, second, score, evidence))
                continue
        into, absorbed = sorted((one, other), key=lambda k: (not keep[k].loaded, keep[k].rank, k))
        owner[absorbed] = into
        sources[into] |= sources[absorbed]
        folds.append(Fold(absorbed, into, score, evidence))
    # A person absorbed one who had absorbed another: every fold names the person it ends on.
    return [Fold(f.absorbed, root(f.into), f.score, f.evidence) for f in folds], doubts
