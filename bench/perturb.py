"""A seeded perturbation generator: the real PFR export respelled the way another site would write it.

Each chosen row gets one perturbation, and the row remembers which (``kind``), so a measurement can say
what each miss was. The oracle is the unperturbed file: a perturbed row is the same person as the row it
came from. Kinds: ``nickname`` (either way: Nicholas -> Nick, Nick -> Nicholas), ``initials`` (A.J. <->
AJ), ``punctuation`` (an apostrophe or a period dropped or added), ``hyphen`` (a hyphenated surname split
or joined), ``typo1`` and ``typo2`` (one or two letters substituted, dropped, doubled or transposed, in
the first or the last name), ``transfer`` (another college), ``position`` (OLB/DE, S/CB and the like).
"""

from __future__ import annotations

import csv
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nicknames import NickNamer

KINDS = ("nickname", "initials", "punctuation", "hyphen", "typo1", "typo2", "transfer", "position")
_POSITIONS = {"OLB": "DE", "DE": "OLB", "S": "CB", "CB": "S", "SS": "CB", "FS": "CB", "ILB": "OLB", "TE": "WR"}
_COLLEGES = ("Alabama", "Ohio State", "Georgia", "LSU", "Clemson", "Oregon", "Texas", "Miami (FL)")


@dataclass(frozen=True)
class Perturbed:
    row: int  # the row's number in the file (1 = the first record)
    kind: str
    before: str
    after: str


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word + rng.choice(string.ascii_lowercase)
    i = rng.randrange(1, len(word) - 1)  # the first letter stays: it is rarely the one mistyped
    edit = rng.choice(("substitute", "drop", "double", "transpose"))
    if edit == "substitute":
        letter = rng.choice([c for c in string.ascii_lowercase if c != word[i].lower()])
        return word[:i] + letter + word[i + 1 :]
    if edit == "drop":
        return word[:i] + word[i + 1 :]
    if edit == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :] if word[i] != word[i + 1] else word[:i] + word[i + 1 :]


class Perturber:
    """Respells names, schools and positions, reproducibly from ``seed``. A nickname is swapped only for
    a first name some player goes by (``first_names``): the dataset's Chris -> Kristine is no one's."""

    def __init__(self, seed: int, first_names: set[str]) -> None:
        self.rng = random.Random(seed)
        self.namer = NickNamer()
        self.first_names = first_names

    def name(self, full: str, kind: str) -> str:
        words = full.split()
        if len(words) < 2:
            return full
        first, last = words[0], words[-1]
        rng = self.rng
        if kind == "nickname":
            lowered = first.lower().strip(".")
            related = self.namer.nicknames_of(lowered) | self.namer.canonicals_of(lowered)
            choices = sorted(related & self.first_names)
            if not choices:
                return full
            words[0] = rng.choice(choices).capitalize()
        elif kind == "initials":
            if "." in first:
                words[0] = first.replace(".", "")
            elif first.isupper() and len(first) == 2:
                words[0] = f"{first[0]}.{first[1]}."
            else:
                return full
        elif kind == "punctuation":
            if "'" in full:
                return full.replace("'", "", 1)
            if "." in full:
                return full.replace(".", "", 1)
            words[-1] = last[:1] + "'" + last[1:] if len(last) > 3 else last
        elif kind == "hyphen":
            if "-" in last:
                words[-1:] = last.split("-", 1)
            else:
                return full
        elif kind in ("typo1", "typo2"):
            where = rng.choice((0, len(words) - 1))
            words[where] = _typo(words[where], rng)
            if kind == "typo2":
                words[where] = _typo(words[where], rng)
        return " ".join(words)

    def rows(
        self, rows: list[dict[str, str]], share: float, name: str, college: str, position: str
    ) -> Iterator[tuple[dict[str, str], Perturbed | None]]:
        """Each row, a ``share`` of them perturbed once (a kind that leaves the row as it was counts as none)."""
        for number, row in enumerate(rows, start=1):
            if self.rng.random() >= share:
                yield row, None
                continue
            kind = self.rng.choice(KINDS)
            changed = dict(row)
            if kind == "transfer":
                changed[college] = self.rng.choice([c for c in _COLLEGES if c != row[college]])
                field = college
            elif kind == "position":
                changed[position] = _POSITIONS.get(row[position], row[position])
                field = position
            else:
                changed[name] = self.name(row[name], kind)
                field = name
            if changed[field] == row[field]:
                yield row, None
            else:
                yield changed, Perturbed(number, kind, row[field], changed[field])


def write_perturbed(source: Path, target: Path, seed: int, share: float, years: tuple[int, int]) -> list[Perturbed]:
    """The PFR export's rows of draft classes ``years`` (inclusive) into ``target``, a ``share`` of them
    perturbed; returns what was changed."""
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        every = list(reader)
    rows = [r for r in every if years[0] <= int(r["season"]) <= years[1]]
    first_names = {r["player_name"].split()[0].lower() for r in every if r["player_name"].strip()}
    changes = []
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        for row, change in Perturber(seed, first_names).rows(rows, share, "player_name", "school", "pos"):
            writer.writerow(row)
            if change is not None:
                changes.append(change)
    return changes
