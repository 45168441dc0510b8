"""A scaled input from the real sample files: each replica is the same players under new identities.

Replica 0 is the real rows as they are. Replica k renames every player by adding the same letters to
the surname in every source (``Joe Burrow`` -> ``Joe Burrowbc``), makes every source id unique and
nudges the measurements by the same small amount in every source, so the entity-resolution work per
replica is the real files' work: the same blocks, the same cross-source matches, the same messiness.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REAL_DATA = Path(__file__).parents[2] / "shared" / "data"


@dataclass(frozen=True)
class Layout:
    """Where a source file keeps names, ids and measurements."""

    filename: str
    names: tuple[str, ...]  # full-name columns, then surname-only columns
    surnames: tuple[str, ...]
    ids: tuple[str, ...]
    weights: tuple[str, ...]
    times: tuple[str, ...]


LAYOUTS = {
    "nfl": Layout(
        "nflcom_combine_official_2006_2026.csv",
        ("player",),
        ("last_name",),
        ("person_id",),
        ("weight",),
        ("forty_yard_dash", "three_cone_drill", "twenty_yard_shuttle"),
    ),
    "pfr": Layout(
        "pfr_combine_draft_2000_2022.csv",
        ("player_name",),
        (),
        ("pfr_id", "cfb_id"),
        ("wt",),
        ("forty", "cone", "shuttle"),
    ),
    "espn": Layout(
        "espn_draft_prospects_rankings_1967_2021.csv", ("player_name",), (), ("player_id", "guid"), ("weight",), ()
    ),
    "cfr": Layout("cfbref_college_offense_seasons_2014_2023.csv", ("Player",), (), (), (), ()),
}

_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}
_MISSING = {"", "NA", "nan", "None"}


def tag(replica: int) -> str:
    """Letters that name a replica: 1 -> 'b', 26 -> 'ba' (never empty for replica > 0)."""
    letters = ""
    while True:
        replica, digit = divmod(replica, 26)
        letters = chr(ord("a") + digit) + letters
        if replica == 0:
            return letters


def rename(name: str, letters: str) -> str:
    """Add ``letters`` to the surname: the last word that is not a suffix (Jr., III)."""
    words = name.split()
    for i in range(len(words) - 1, -1, -1):
        if words[i].lower().strip(".,") not in _SUFFIXES:
            words[i] += letters
            return " ".join(words)
    return name + letters


def _nudge(value: str, key: str, scale: float) -> str:
    if value in _MISSING:
        return value
    try:
        number = float(value)
    except ValueError:
        return value
    step = int(hashlib.blake2b(key.encode(), digest_size=2).hexdigest(), 16) % 5 - 2  # -2 .. 2
    return f"{number + step * scale:g}"


def replica_rows(source: str, row: dict[str, str], replica: int) -> dict[str, str]:
    if replica == 0:
        return row
    layout = LAYOUTS[source]
    letters = tag(replica)
    out = dict(row)
    person = ""
    for column in layout.names:
        if out.get(column):
            person = out[column].lower()
            out[column] = rename(out[column], letters)
    for column in layout.surnames:
        if out.get(column):
            out[column] = out[column] + letters
    for column in layout.ids:
        if out.get(column) not in _MISSING and out.get(column) is not None:
            out[column] = f"{out[column]}-{letters}"
    for column in layout.weights:  # the same person gets the same nudge in every source
        out[column] = _nudge(out.get(column, ""), f"{person}|{replica}|w", 1.0)
    for column in layout.times:
        out[column] = _nudge(out.get(column, ""), f"{person}|{replica}|t", 0.01)
    return out


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def generate(out_dir: Path, total_rows: int, data_dir: Path = REAL_DATA) -> dict[str, Path]:
    """Write one scaled CSV per source, ``total_rows`` rows in all, split as in the real files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    real = {source: _read(data_dir / layout.filename) for source, layout in LAYOUTS.items()}
    real_total = sum(len(rows) for _, rows in real.values())
    paths = {}
    for source, (header, rows) in real.items():
        quota = round(total_rows * len(rows) / real_total)
        path = out_dir / f"{source}_{total_rows}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(_take(source, rows, quota))
        paths[source] = path
    return paths


def _take(source: str, rows: list[dict[str, str]], quota: int) -> Iterator[dict[str, str]]:
    written, replica = 0, 0
    while written < quota:
        for row in rows:
            if written == quota:
                return
            yield replica_rows(source, row, replica)
            written += 1
        replica += 1
