"""The source registry: one adapter per data source, the only list of sources. Adding a source means
adding one module here, or declaring a ``Source`` subclass under the ``etl_worker.sources`` entry points
of a package of one's own (its staging table is made by ``etl-worker db upgrade`` or its first ingest).

A run may use another adapter for a source (a subclass with a team's own parsing): it names it by
import path in its context (``adapters``), and every worker loads it from there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache, lru_cache
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

ENTRY_POINTS = plugins.SOURCE_GROUP
_BUILT_IN = (NflSource, PfrSource, EspnSource, PffSource, YahooSource, CfrSource)
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")  # a source's name also names its staging table


@cache
def registry() -> dict[str, Source]:
    """Every source, by name: the built-in ones, then those installed packages declare under the
    ``etl_worker.sources`` entry points (a ``Source`` subclass each)."""
    sources: dict[str, Source] = {s.name: s for s in (cls() for cls in _BUILT_IN)}
    for name, path in sorted(plugins.registered(ENTRY_POINTS).items()):
        if name in sources:
            raise ConfigurationError(
                f"the source {name!r} that {path} registers is built in: name it otherwise, or give it to"
                " the orchestrator as that source's transformer"
            )
        if not _NAME.fullmatch(name):
            raise ConfigurationError(f"source name {name!r} ({path}) must be lower-case letters, digits and _")
        sources[name] = _load(path, name)
    return sources


def sources_with_header(header: list[str]) -> list[str]:
    """The sources whose required columns all appear in ``header`` (an export whose name does not say
    which source it is), most specific first: the one that requires the most columns."""
    present = {column.strip() for column in header}
    fitting = [s for s in registry().values() if set(s.required_columns) <= present]
    return [s.name for s in sorted(fitting, key=lambda s: (-len(s.required_columns), s.name))]


def get_source(name: str) -> Source:
    """The adapter for ``name``; an unknown name is a readable configuration error."""
    try:
        return registry()[name]
    except KeyError:
        known = ", ".join(sorted(registry()))
        raise ConfigurationError(f"unknown source {name!r}; known sources: {known}") from None


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
