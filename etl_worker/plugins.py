"""Code a run names by import path, so that a worker on another machine can load it.

A run's context carries plug-ins (source adapters, data-quality rules) as ``module:attribute`` strings,
never as objects: the producer and the workers share a package index, not a process. The producer
checks a path before it enqueues anything, and each worker loads it again when the run starts there.

A task message is input like any other: a path is imported only when it is etl_worker's own, a
plug-in installed under one of ``GROUPS``, or in a package ``ETL_PLUGIN_MODULES`` allows. Anything
else is refused before its module is imported, so its import-time code never runs.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from etl_worker.errors import ConfigurationError
from etl_worker.settings import Settings

# The entry-point groups of installed plug-ins: sources, and data-quality rules.
SOURCE_GROUP, RULE_GROUP = GROUPS = ("etl_worker.sources", "etl_worker.rules")


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
    if not allowed(path):
        raise ConfigurationError(
            f"{what} {path} is not an installed plug-in: register it under the entry-point group "
            f"{' or '.join(GROUPS)}, or add its package to ETL_PLUGIN_MODULES (where the producer and the workers run)"
        )
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"{what} {path} cannot be imported: {type(exc).__name__}: {exc}") from None
    return obj


def allowed(path: str) -> bool:
    """Whether ``path`` may be imported: etl_worker's own, in an allowed package, or a registered plug-in."""
    module = path.partition(":")[0]
    packages = ("etl_worker", *Settings.from_env().plugin_modules)
    if any(module == package or module.startswith(package + ".") for package in packages):
        return True
    return any(path in registered(group).values() for group in GROUPS)


def registered(group: str) -> dict[str, str]:
    """The plug-ins installed packages declare under an entry-point group: name -> import path."""
    return {ep.name: ep.value for ep in entry_points(group=group)}
