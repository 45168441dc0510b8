"""``python -m bench.identity``: how many NFL.com-PFR same-person pairs the entity resolution links when
PFR's names are respelled the way another site would (``bench.perturb``), by kind of respelling.

The resolution is the merge's own, run in-process on the records the sources' transformers make of the
real exports in ``../shared/data``: one surname block at a time as a merge part does
(``etl_worker.phases.resolve``), then the weighing across the blocks (``etl_worker.phases.weigh``). The oracle is the unperturbed run: the pairs it links are the same-person pairs. A link
the oracle lacks is a false merge when the two records' combine measurements disagree (height by more
than an inch, weight by more than 5 lb), else an extra link.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.perturb import KINDS, Perturbed, write_perturbed
from etl_worker.errors import RecordError
from etl_worker.normalize import college_key, surname_key
from etl_worker.phases.resolve import Record, resolve_block
from etl_worker.phases.transform import work_rows
from etl_worker.phases.weigh import Doubt, profile, reconcile
from etl_worker.settings import Linkage
from etl_worker.sources import get_source

SHARED = Path(__file__).parents[2] / "shared" / "data"
NFL = "nflcom_combine_official_2006_2026.csv"
PFR = "pfr_combine_draft_2000_2022.csv"
EXTRACTION = "00000000-0000-4000-8000-000000000000"
Key = tuple[str, int]  # (source, row number)


def records(source_name: str, path: Path, year_column: str, years: tuple[int, int]) -> tuple[list[Record], dict]:
    """The file's records of the classes ``years`` as the merge sees them, and each one's measurements."""
    source = get_source(source_name)
    found: list[Record] = []
    measured: dict[Key, Mapping[str, Any]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=1):
            if not years[0] <= int(float(row[year_column])) <= years[1]:
                continue
            try:
                parsed = source.parse(row)
            except RecordError:
                continue
            key = {"extraction_id": EXTRACTION, "source": source_name, "row_number": number}
            work = work_rows(key, parsed)
            found.append(Record.from_row({**work["work_prospects"][0], **key}))
            measured[(source_name, number)] = parsed.measurements or {}
    return found, measured


def link(everyone: list[Record], measured: Mapping[Key, Mapping[str, Any]]) -> tuple[dict[Key, str], list[Doubt]]:
    """Each record's person (match key), resolved a surname block at a time and then weighed across the
    blocks as the merge does; and the pairs the weighing would show an operator."""
    blocks: dict[str, list[Record]] = defaultdict(list)
    for record in everyone:
        blocks[surname_key(record.name_key)].append(record)
    placed: dict[Key, str] = {}
    for block in blocks.values():
        _, links, _ = resolve_block(EXTRACTION, block, [], set())
        placed.update({(link.record.source, link.record.row_number): link.match_key for link in links})
    by_key = {(r.source, r.row_number): r for r in everyone}
    people: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, person in placed.items():
        record = by_key[key]
        people[person].append({**vars(record), "college_key": college_key(record.college), **measured.get(key, {})})
    profiles = [p for key, rows in people.items() if (p := profile(key, rows)) is not None]
    linkage = Linkage()
    folds, doubts = reconcile(profiles, linkage.link_above, linkage.review_above)
    into = {f.absorbed: f.into for f in folds}
    return {key: into.get(person, person) for key, person in placed.items()}, doubts


def pairs(placed: dict[Key, str]) -> set[tuple[int, int]]:
    """The (NFL.com row, PFR row) pairs placed on one person."""
    people: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for (source, row), person in placed.items():
        people[person][source].append(row)
    return {(n, p) for by_source in people.values() for n in by_source["nfl"] for p in by_source["pfr"]}


def _disagree(a: dict[str, Any], b: dict[str, Any]) -> bool:
    for name, tolerance in (("height_in", 1.0), ("weight_lb", 5.0)):
        if a.get(name) is not None and b.get(name) is not None and abs(a[name] - b[name]) > tolerance:
            return True
    return False


@dataclass
class Measured:
    oracle: int
    linked: int
    false_merges: list[tuple[int, int]]
    extra: int
    seconds: float
    by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (linked, oracle pairs)
    missed: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, before, after)
    doubts: int = 0  # pairs the weighing would show an operator

    @property
    def recall(self) -> float:
        return self.linked / self.oracle if self.oracle else 1.0


def measure(data: Path, work: Path, seed: int, share: float, years: tuple[int, int]) -> Measured:
    nfl, nfl_measured = records("nfl", data / NFL, "year", years)
    pfr, pfr_measured = records("pfr", data / PFR, "season", years)
    oracle = pairs(link(nfl + pfr, nfl_measured | pfr_measured)[0])
    sliced = work / "pfr_perturbed.csv"
    changes = write_perturbed(data / PFR, sliced, seed, share, years)
    perturbed, perturbed_measured = records("pfr", sliced, "season", years)
    # The sliced file numbers its rows anew: map them back to the original file's numbers.
    original_rows = sorted(r.row_number for r in pfr)
    renumber = dict(zip(sorted(r.row_number for r in perturbed), original_rows, strict=True))
    for record in perturbed:
        record.row_number = renumber[record.row_number]
    by_row: dict[int, Perturbed] = {original_rows[c.row - 1]: c for c in changes if c.row - 1 < len(original_rows)}
    started = time.perf_counter()
    renumbered = {("pfr", renumber[row]): m for (_, row), m in perturbed_measured.items()}
    placed, doubts = link(nfl + perturbed, nfl_measured | renumbered)
    found = pairs(placed)
    seconds = time.perf_counter() - started
    extra = found - oracle
    false = [(n, p) for n, p in sorted(extra) if _disagree(nfl_measured[("nfl", n)], pfr_measured[("pfr", p)])]
    result = Measured(len(oracle), len(oracle & found), false, len(extra) - len(false), seconds)
    for kind in KINDS:
        wanted = {(n, p) for n, p in oracle if p in by_row and by_row[p].kind == kind}
        result.by_kind[kind] = (len(wanted & found), len(wanted))
        result.missed += [(kind, by_row[p].before, by_row[p].after) for n, p in sorted(wanted - found)]
    result.doubts = len(doubts)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.identity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--share", type=float, default=0.25, help="share of PFR rows respelled")
    parser.add_argument("--years", type=int, nargs=2, default=(2015, 2020))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        m = measure(args.data, Path(work), args.seed, args.share, tuple(args.years))
    print(f"same-person pairs (oracle): {m.oracle:,}; linked {m.linked:,} ({m.recall:.1%}) in {m.seconds:.2f} s")
    print(f"false merges: {len(m.false_merges)}; other links the oracle lacks: {m.extra}; pairs for review: {m.doubts}")
    for kind, (linked, wanted) in m.by_kind.items():
        print(f"  {kind:<12} {linked:>4} of {wanted:<4} linked")
    for kind, before, after in m.missed:
        print(f"  missed {kind:<12} {before!r} -> {after!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
