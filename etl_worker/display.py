"""Values from data and file names made safe to show to a person, in a terminal or a log line.

A player's name or a dropped file's name is data, not markup: control characters (newlines that
would forge log lines, ESC that starts ANSI and OSC-8 link sequences) are shown escaped, and for
rich, square brackets are escaped so that ``Mike [/b] Smith`` prints as written.
"""

from __future__ import annotations

import re

from rich.markup import escape

# C0 and C1 controls and DEL; tab is shown as a space. Also the bidirectional controls (U+202A-U+202E,
# U+2066-U+2069, U+200E/U+200F, U+061C), which reorder what follows them on screen ("Trojan Source").
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(value: object) -> str:
    """``value`` as text with every control character shown as an escape (``\\n``, ``\\x1b``, ``\\u202e``)."""
    text = str(value).replace("\t", " ")
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def cell(value: object) -> str:
    """``value`` for a rich table cell or a rich-printed line: printable and free of markup."""
    return escape(printable("" if value is None else value))
