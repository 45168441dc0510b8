"""The one reading of an id a producer gives: a ``uuid.UUID`` or a string, with or without dashes (or
braces, or ``urn:uuid:``), in any case; always stored and passed on in the canonical form."""

from __future__ import annotations

import uuid

from etl_worker.display import printable
from etl_worker.errors import ConfigurationError


def canonical_uuid(value: object, kind: str = "extraction") -> str:
    """``value`` as a lower-case dashed UUID; one readable ``ConfigurationError`` when it is none."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and len(value) <= 64:
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            pass
    shown = printable(value if isinstance(value, str) else f"{type(value).__name__} {value!r}")[:80]
    raise ConfigurationError(f"{kind} id {shown!r} is not a UUID")
