"""The source registry: one adapter per data source. Adding a source means adding one module here.

A run may use another adapter for a source (a subclass with a team's own parsing): it names it by
import path in its context (``adapters``), and every worker loads it from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from etl_worker import plugins
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


def adapter_paths(chosen: Mapping[str, Any]) -> dict[str, str]:
    """The import paths of the adapters chosen per source (a ``Source`` subclass, an instance of one or a
    ``module:Class`` path); a source mapped to None uses the registry's. Checked here, before any run."""
    paths = {}
    for name, adapter in chosen.items():
        get_source(name)
        if adapter is None:
            continue
        paths[name] = plugins.path_of(adapter, f"the transformer for {name}")
        _load(paths[name], name)
    return paths


def for_run(name: str, adapters: Mapping[str, str] | None = None) -> Source:
    """The adapter a run uses for ``name``: the one its context names, else the registry's."""
    path = (adapters or {}).get(name)
    return _load(path, name) if path else get_source(name)


@lru_cache(maxsize=64)
def _load(path: str, name: str) -> Source:
    what = f"the transformer for {name}"
    loaded = plugins.load(path, what)
    adapter = loaded() if isinstance(loaded, type) and issubclass(loaded, Source) else loaded
    if not isinstance(adapter, Source):
        raise ConfigurationError(f"{what} {path} is not an etl_worker.sources.base.Source (subclass or instance)")
    if adapter.name != name:
        raise ConfigurationError(f"{what} {path} is the adapter of source {adapter.name!r}, not {name!r}")
    return adapter
