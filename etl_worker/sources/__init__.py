"""The source registry: one adapter per data source. Adding a source means adding one module here."""

from __future__ import annotations

from etl_worker.errors import ConfigurationError
from etl_worker.sources.base import Source
from etl_worker.sources.cfr import CfrSource
from etl_worker.sources.espn import EspnSource
from etl_worker.sources.nfl import NflSource
from etl_worker.sources.pff import PffSource
from etl_worker.sources.pfr import PfrSource
from etl_worker.sources.yahoo import YahooSource

REGISTRY: dict[str, Source] = {
    s.name: s for s in (PffSource(), CfrSource(), NflSource(), YahooSource(), PfrSource(), EspnSource())
}


def get_source(name: str) -> Source:
    """The adapter for ``name``; an unknown name is a readable configuration error."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigurationError(f"unknown source {name!r}; known sources: {', '.join(sorted(REGISTRY))}") from None
