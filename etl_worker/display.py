"""Values from data and file names made safe to show to a person, in a terminal or a log line.

A player's name or a dropped file's name is data, not markup: control characters (newlines that
would forge log lines, ESC that starts ANSI and OSC-8 link sequences) are shown escaped, and for
rich, square brackets are escaped so that ``Mike [/b] Smith`` prints as written.
"""

from __future__ import annotations

import re

from rich.markup import escape

# C0 and C1 controls and DEL; tab is shown as a space. Also the bidirectional controls (U+202A-U+202E,
# U+2066-U+2069, U+200E/U+200F, U+061C), which reorder what follows them on screen ("Trojan Source"),
# and lone surrogates: a file name's bytes that are not UTF-8 (Python decodes them as U+DC80-U+DCFF).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name, shown as the byte it was
        return f"\\x{code - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


def printable(value: object) -> str:
    """``value`` as text with every control character shown as an escape (``\\n``, ``\\x1b``, ``\\u202e``) and
    every byte of a file name that is not UTF-8 as ``\\xff``: always encodable, never a control sequence."""
    text = str(value).replace("\t", " ")
    return _CONTROL.sub(lambda m: _escape(m.group()), text)


def cell(value: object) -> str:
    """``value`` for a rich table cell or a rich-printed line: printable and free of markup."""
    return escape(printable("" if value is None else value))
