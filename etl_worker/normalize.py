"""Field normalization shared by the source adapters: missing values, numbers, heights, names, colleges."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection

from nicknames import NickNamer
from rapidfuzz import process
from rapidfuzz.distance import OSA

from etl_worker.errors import RecordError

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "--"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v"})
_FEET_INCHES = re.compile(r"^\s*(\d)\s*[-' ]\s*(\d{1,2}(?:\.\d+)?)\s*\"?\s*$")

_POSITION_GROUPS = {
    "QB": "QB",
    "RB": "RB",
    "FB": "RB",
    "HB": "RB",
    "WR": "WR",
    "TE": "TE",
    "T": "OL",
    "OT": "OL",
    "G": "OL",
    "OG": "OL",
    "C": "OL",
    "OL": "OL",
    "IOL": "OL",
    "DT": "DL",
    "NT": "DL",
    "DL": "DL",
    "DE": "EDGE",
    "EDGE": "EDGE",
    "OLB": "LB",
    "ILB": "LB",
    "MLB": "LB",
    "LB": "LB",
    "CB": "DB",
    "S": "DB",
    "SAF": "DB",
    "FS": "DB",
    "SS": "DB",
    "DB": "DB",
    "ED": "EDGE",
    "ILB/OLB": "LB",
    "K": "ST",
    "PK": "ST",
    "P": "ST",
    "LS": "ST",
}


def text(value: str | None) -> str | None:
    """A stripped string, or None for the spellings of 'missing'."""
    if value is None:
        return None
    value = value.strip()
    return None if value.lower() in MISSING else value


def number(value: str | None, field: str, *, zero_is_missing: bool = False) -> float | None:
    """A float, None when missing; a value that is not a number is a record error."""
    raw = text(value)
    if raw is None:
        return None
    try:
        result = float(raw)
    except ValueError:
        raise RecordError("not_a_number", f"{field}: {raw!r} is not a number") from None
    if result != result or result in (float("inf"), float("-inf")):
        raise RecordError("not_a_number", f"{field}: {raw!r} is not a finite number")
    if zero_is_missing and result == 0:
        return None
    return result


def whole(value: str | None, field: str) -> int | None:
    """An integer (``2019`` or ``2019.0``), None when missing."""
    result = number(value, field)
    if result is None:
        return None
    if result != int(result):
        raise RecordError("not_a_whole_number", f"{field}: {value!r} is not a whole number")
    return int(result)


def height_inches(value: str | None) -> float | None:
    """Height in inches from 75.5, 76 or '6-3'."""
    raw = text(value)
    if raw is None:
        return None
    match = _FEET_INCHES.match(raw)
    inches = float(match.group(1)) * 12 + float(match.group(2)) if match else number(raw, "height")
    if inches is not None and not 60 <= inches <= 90:
        raise RecordError("out_of_range", f"height: {raw!r} is not a plausible height")
    return inches


_NAMER = NickNamer()  # the `nicknames` dataset: English names and their nicknames, both ways


@functools.lru_cache(maxsize=1 << 14)
def _forms(first: str) -> frozenset[str]:
    """A folded first name and the names it may be short for: 'nick' -> {'nick', 'nicholas', 'dominick', ...}.
    Two first names may be one person's when their forms meet ('Nick' and 'Nico' both shorten 'Nicholas')."""
    return frozenset({first, *_NAMER.canonicals_of(first)})


def _fold(value: str) -> str:
    if not value.isascii():  # accents off: 'Ñ' -> 'N'
        value = unicodedata.normalize("NFKD", value)
        value = "".join(c for c in value if not unicodedata.combining(c))
    value = value.lower()
    return re.sub(r"[^a-z0-9 ]+", " ", value.replace("'", "").replace(".", ""))


def name_key(full_name: str) -> str:
    """A person's name folded for matching: case, accents, punctuation and suffixes removed."""
    words = _fold(full_name).split()
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words.pop()
    return " ".join(words)


_COLLEGE_WORDS = {
    "st": "state",
    "col": "college",
    "univ": "university",
    "east": "eastern",
    "west": "western",
    "so": "southern",
    "se": "southeastern",
    "nw": "northwestern",
    "la": "louisiana",
    "tenn": "tennessee",
    "ala": "alabama",
}
_COLLEGE_ALIASES = {
    "lsu": "louisiana state",
    "usc": "southern california",
    "ucla": "california los angeles",
    "tcu": "texas christian",
    "smu": "southern methodist",
    "byu": "brigham young",
    "ucf": "central florida",
    "unlv": "nevada las vegas",
    "utep": "texas el paso",
    "utsa": "texas san antonio",
    "uab": "alabama birmingham",
    "fiu": "florida international",
    "fau": "florida atlantic",
    "ole miss": "mississippi",
    "pitt": "pittsburgh",
    "southern miss": "southern mississippi",
    "miami fl": "miami",
    "miami florida": "miami",
    "louisiana lafayette": "louisiana",
    "ul lafayette": "louisiana",
    "louisiana monroe": "louisiana monroe",
    "tennessee chattanooga": "chattanooga",
    "northwestern state louisiana": "northwestern state",
    "north carolina state": "nc state",
    "boston": "boston college",
}


def surname_key(name: str) -> str:
    """The last word of a folded name: the block in which records may be the same person."""
    return name.split()[-1] if name else name


def first_names_compatible(a: str, b: str) -> bool:
    """Whether two folded full names can be one person's: same surname, and first names equal, one a
    shortening of the other ('Takk' / 'Takkarist', 'Lano' / 'Delano') or nicknames of one name in the
    `nicknames` dataset ('Gabe' / 'Gabriel', 'Nick' / 'Nico')."""
    words_a, words_b = a.split(), b.split()
    if words_a[-1] != words_b[-1]:
        return False
    first_a, first_b = words_a[0], words_b[0]
    if first_a == first_b:
        return True
    short, long = sorted((first_a, first_b), key=len)
    if len(short) >= 3 and (long.startswith(short) or long.endswith(short)):
        return True
    return not _forms(first_a).isdisjoint(_forms(first_b))


def _typo_apart(first_a: str, first_b: str) -> bool:
    """One letter substituted, dropped, added or two swapped ('Jarvis' / 'Javis'), in names long enough
    for that to say little: the longer has four letters or more, the shorter three."""
    return (
        min(len(first_a), len(first_b)) >= 3
        and max(len(first_a), len(first_b)) >= 4
        and OSA.distance(first_a, first_b) <= 1
    )


def first_names_typo_apart(a: str, b: str) -> bool:
    """Whether two folded full names have the same surname and first names one typing slip apart."""
    words_a, words_b = a.split(), b.split()
    return words_a[-1] == words_b[-1] and words_a[0] != words_b[0] and _typo_apart(words_a[0], words_b[0])


class FirstNames:
    """The first names of one surname block, looked up by ``first_names_compatible``'s rule without
    comparing every pair: by nickname, and by the shortenings (3 letters or more) each name holds."""

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._by_form: dict[str, set[str]] = {}  # 'nicholas' -> {'nick', 'nico', 'nicholas'}
        self._by_part: dict[str, set[str]] = {}  # 'lano' -> {'delano'}; 'takk' -> {'takkarist'}

    def add(self, first: str) -> None:
        if first in self._names:
            return
        self._names.add(first)
        for form in _forms(first):
            self._by_form.setdefault(form, set()).add(first)
        for k in range(3, len(first)):
            self._by_part.setdefault(first[:k], set()).add(first)
            self._by_part.setdefault(first[-k:], set()).add(first)

    def compatible(self, first: str) -> set[str]:
        """The names added that ``first`` may be (itself included, when added)."""
        found = {name for form in _forms(first) for name in self._by_form.get(form, ())}
        if len(first) >= 3:
            found |= self._by_part.get(first, set())
        found.update(part for k in range(3, len(first)) for part in (first[:k], first[-k:]) if part in self._names)
        return found

    def typo_apart(self, first: str) -> set[str]:
        """The names added one typing slip from ``first`` (``first_names_typo_apart``'s rule)."""
        near = process.extract(first, self._names, scorer=OSA.distance, score_cutoff=1, limit=None)
        return {name for name, _, _ in near if name != first and _typo_apart(first, name)}


@functools.lru_cache(maxsize=1 << 14)  # a few thousand schools, spelled a few ways each
def college_key(college: str | None) -> str | None:
    """One college folded for matching: 'Ohio St.' = 'Ohio State', 'LSU' = 'Louisiana State'."""
    if college is None:
        return None
    words = [_COLLEGE_WORDS.get(w, w) for w in _fold(college.replace("-", " ")).split()]
    words = [w for w in words if w not in ("university", "of", "the")]
    key = " ".join(words)
    return _COLLEGE_ALIASES.get(key, key) or None


def colleges_overlap(a: Collection[str], b: Collection[str]) -> bool:
    """Whether two sets of folded colleges share a school ('grand valley' and 'grand valley state' do)."""
    return any(x == y or x.startswith(y + " ") or y.startswith(x + " ") for x in a for y in b)


@functools.lru_cache(maxsize=1 << 14)
def college_keys(colleges: str | None) -> frozenset[str]:
    """Every school of a college field ('Lsu, Ohio State' is two schools), folded for matching."""
    if colleges is None:
        return frozenset()
    return frozenset(k for k in (college_key(part) for part in colleges.split(",")) if k)


def position_group(position: str | None) -> str | None:
    """The position group of a position code (SAF/S/FS/SS -> DB, T/OT -> OL, DE/EDGE -> EDGE)."""
    if position is None:
        return None
    return _POSITION_GROUPS.get(position.strip().upper())


# Edge rushers are listed as DE, OLB or EDGE depending on the source and the scheme.
_COMPATIBLE_GROUPS = {frozenset({"EDGE", "LB"}), frozenset({"EDGE", "DL"})}


def positions_compatible(a: str | None, b: str | None) -> bool | None:
    """Whether two position groups can be the same player; None when either is unknown."""
    if a is None or b is None:
        return None
    return a == b or frozenset({a, b}) in _COMPATIBLE_GROUPS
