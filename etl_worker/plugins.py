"""Code a run names by import path, so that a worker on another machine can load it.

A run's context carries plug-ins (source adapters, data-quality rules) as ``module:attribute`` strings,
never as objects: the producer and the workers share a package index, not a process. The producer
checks a path before it enqueues anything, and each worker loads it again when the run starts there.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from etl_worker.errors import ConfigurationError


def path_of(obj: Any, what: str) -> str:
    """The ``module:attribute`` path that imports ``obj`` (a class, or an instance's class, or a module-level
    object); a readable error when a worker could not import it by name (defined in ``__main__`` or in a function)."""
    if isinstance(obj, str):
        load(obj, what)
        return obj
    target = obj if isinstance(obj, type) else type(obj)
    module, name = target.__module__, target.__qualname__
    if module == "__main__" or "<locals>" in name:
        raise ConfigurationError(
            f"{what} {name} is defined in {'a function' if '<locals>' in name else 'the main script'}: "
            "workers load it by name, so define it in a module they can import"
        )
    path = f"{module}:{name}"
    if load(path, what) is not target:
        raise ConfigurationError(f"{what} {path} does not import as the object given")
    return path


def load(path: str, what: str) -> Any:
    """Import ``module:attribute`` (dots allowed after the colon); one readable error when it cannot."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"{what} {path!r} is not an import path of the form module:attribute")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"{what} {path} cannot be imported: {type(exc).__name__}: {exc}") from None
    return obj


def registered(group: str) -> dict[str, str]:
    """The plug-ins installed packages declare under an entry-point group: name -> import path."""
    return {ep.name: ep.value for ep in entry_points(group=group)}
