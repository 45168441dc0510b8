"""Field normalization shared by the source adapters: missing values, numbers, heights, names, colleges."""

from __future__ import annotations

import re
import unicodedata

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
    "K": "ST",
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


def _fold(value: str) -> str:
    value = unicodedata.normalize("NFKD", value)
    value = "".join(c for c in value if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9 ]+", " ", value.replace("'", "").replace(".", ""))


def name_key(full_name: str) -> str:
    """A person's name folded for matching: case, accents, punctuation and suffixes removed."""
    words = _fold(full_name).split()
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words.pop()
    return " ".join(words)


def college_key(college: str | None) -> str | None:
    """A college name folded for matching ('Ohio St.' and 'Ohio State' agree)."""
    if college is None:
        return None
    words = ["state" if w == "st" else w for w in _fold(college).split()]
    return " ".join(words) or None


def position_group(position: str | None) -> str | None:
    """The position group of a position code (SAF/S/FS/SS -> DB, T/OT -> OL, DE/EDGE -> EDGE)."""
    if position is None:
        return None
    return _POSITION_GROUPS.get(position.strip().upper())
