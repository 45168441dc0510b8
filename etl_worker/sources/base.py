"""The transformer interface: a source adapter turns one raw staging record into canonical facts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

from etl_worker.errors import ConfigurationError, RecordError
from etl_worker.normalize import text


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


class Source(ABC):
    """One data source: its name, the columns its export must have, and how a record is parsed."""

    name: str
    required_columns: tuple[str, ...]

    def check_header(self, header: list[str]) -> None:
        """Raise a readable error when an export lacks columns this source needs."""
        missing = [c for c in self.required_columns if c not in header]
        if missing:
            raise ConfigurationError(f"this is not a {self.name} export: missing column(s) {', '.join(missing)}")

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
