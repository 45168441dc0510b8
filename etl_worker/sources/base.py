"""The transformer interface: a source adapter turns one raw staging record into canonical facts."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from etl_worker.errors import ConfigurationError, RecordError
from etl_worker.normalize import text, whole


@dataclass(frozen=True)
class ProspectFacts:
    """Who a record is about, as the source spells it."""

    full_name: str
    position: str | None = None
    college: str | None = None
    draft_year: int | None = None
    source_player_id: str | None = None
    other_ids: Mapping[str, str] = field(default_factory=dict)
    draft_round: int | None = None
    draft_pick: int | None = None
    draft_team: str | None = None


@dataclass(frozen=True)
class GradeFacts:
    grade_type: str
    grade: float | None
    scale: str | None
    grade_normalized: float | None
    rank: int | None = None
    position_rank: int | None = None
    season: int | None = None


@dataclass(frozen=True)
class CollegeSeasonFacts:
    season: int
    team: str
    stats: Mapping[str, float | None]


@dataclass(frozen=True)
class Transformed:
    """Everything one staging record contributes."""

    prospect: ProspectFacts
    grades: tuple[GradeFacts, ...] = ()
    measurements: Mapping[str, float | None] | None = None
    college_seasons: tuple[CollegeSeasonFacts, ...] = field(default_factory=tuple)


# Lines that exports carry beside their records: totals and averages, notes, provenance. A name is
# matched whole (no player is called "Totals") or by a prefix no name starts with (a colon, a symbol).
_SUMMARY_NAMES = frozenset(
    {
        "average",
        "averages",
        "avg",
        "count",
        "grand total",
        "league average",
        "name",
        "opponent",
        "opponents",
        "player",
        "player name",
        "sum",
        "team",
        "team total",
        "team totals",
        "total",
        "totals",
    }
)
_FOOTER = re.compile(
    r"^(source|sources|note|notes|updated|last updated|generated|exported|data as of|data provided by|"
    r"provided by|powered by|copyright|\(c\)|©|\*|#|--)",
    re.IGNORECASE,
)
_LETTER = re.compile(r"[^\W\d_]")


class Source(ABC):
    """One data source: its name, the columns its export must have, how a record is parsed, and how
    far it is trusted (``priority``, ``seasons``, ``measures``).

    ``name_column`` holds the player's name; ``multiline_columns`` are the columns whose quoted values
    may legitimately span lines in a real export (any other quoted field over lines refuses the file).
    """

    name: str
    required_columns: tuple[str, ...]
    name_column: str
    multiline_columns: frozenset[str] = frozenset()
    # Whose spelling of a name, position and college a merged person takes, and whose draft pick: the
    # lowest first. The built-in sources take 10 to 60; a plug-in source is trusted least unless it says.
    priority: int = 100
    seasons: bool = False  # its records are college seasons, with no draft class
    measures: bool = False  # it is a combine source: its records carry measurements

    def check_header(self, header: list[str]) -> None:
        """Raise a readable error when an export lacks columns this source needs."""
        missing = [c for c in self.required_columns if c not in header]
        if missing:
            raise ConfigurationError(f"this is not a {self.name} export: missing column(s) {', '.join(missing)}")

    def parse(self, record: Mapping[str, str]) -> Transformed:
        """``transform`` guarded: a record that is not about a person raises ``RecordError`` with its rule.

        Caught here, for every source: a repeated header row; a summary or footer line (totals, averages,
        notes, provenance) in the name column; a name with no letter; a record with no draft class or
        season; a record whose only fact is a name (no position, school, source id, measurement, grade or
        stat). A measurement row whose every value is missing is dropped, not loaded empty.
        """
        self._check_is_record(record)
        parsed = self.transform(record)
        if parsed.measurements is not None and all(v is None for v in parsed.measurements.values()):
            parsed = replace(parsed, measurements=None)
        _check_identity(parsed)
        return parsed

    def _check_is_record(self, record: Mapping[str, str]) -> None:
        player = (record.get(self.name_column) or "").strip()
        if player.casefold() == self.name_column.casefold():  # only then can the row be the header again
            values = [(column, (value or "").strip()) for column, value in record.items()]
            echoed = sum(1 for column, value in values if value and value.casefold() == column.casefold())
            if echoed >= 2 and echoed * 2 >= sum(1 for _, value in values if value):
                raise RecordError("repeated_header", f"the header again ({echoed} fields hold their column's name)")
        if player.casefold().rstrip(":") in _SUMMARY_NAMES or _FOOTER.match(player):
            raise RecordError("summary_row", f"{player[:60]!r} is a summary or footer line, not a player")
        if player and not _LETTER.search(player):
            raise RecordError("not_a_name", f"{self.name_column} {player[:60]!r} holds no letter")

    @abstractmethod
    def transform(self, record: Mapping[str, str]) -> Transformed:
        """Parse one raw record; raise ``RecordError`` for a row that must be quarantined."""

    @staticmethod
    def scaled(grade: float | None, low: float, high: float) -> float | None:
        """A grade on the ``low``..``high`` scale mapped onto 0-100."""
        if grade is None:
            return None
        return round(max(0.0, min(100.0, (grade - low) / (high - low) * 100)), 2)

    @staticmethod
    def required_text(record: Mapping[str, str], column: str) -> str:
        value = text(record.get(column))
        if value is None:
            raise RecordError("missing_required", f"{column} is empty")
        return value

    @staticmethod
    def required_whole(record: Mapping[str, str], column: str) -> int:
        """A whole number the record cannot do without (a class, a season)."""
        value = whole(record.get(column), column)
        if value is None:
            raise RecordError("missing_required", f"{column} is empty")
        return value


def _check_identity(parsed: Transformed) -> None:
    """A record must place a person in a class and say something about them beyond a name."""
    p = parsed.prospect
    seasons = [g.season for g in parsed.grades] + [s.season for s in parsed.college_seasons]
    if p.draft_year is None and not any(seasons):
        raise RecordError("no_class", "no draft class or season: the record cannot be placed")
    facts = (
        p.position,
        p.college,
        p.source_player_id,
        *p.other_ids.values(),
        *(parsed.measurements or {}).values(),
        *(v for g in parsed.grades for v in (g.grade, g.rank)),
        *(v for s in parsed.college_seasons for v in s.stats.values()),
    )
    if all(f is None for f in facts):
        raise RecordError("no_facts", "a name and nothing else: no position, school, id, measurement, grade or stat")
