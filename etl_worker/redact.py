"""The one redaction of secrets in URLs, for every message, log line, exception, task result and alert.

A URL's password (and a userinfo that is only a token, ``https://TOKEN@host``) and the values of
token-like query parameters are replaced by ``***``. A webhook URL (Slack, Discord and Teams keep
the secret in the path) is shown as its scheme, host and a fingerprint only, and once a webhook is
known, any text that holds its URL shows that instead. The userinfo is split at its last ``@``, so a
password with an unencoded ``@`` is hidden whole. Text that holds URLs is redacted URL by URL; the
log filter applies that to every record, traceback included.
"""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

MASK = "***"
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")
_SECRET_PARAMS = re.compile(
    r"(token|key|secret|password|passwd|pwd|pass|auth|sig|signature|credential|session|code)", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """``url`` with its password, bare-token userinfo and secret query values replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = _split_netloc(rest)
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        # A lone user name is a token in a web URL (https://TOKEN@host), a login elsewhere.
        bare = MASK if scheme.lower() in ("http", "https") else user
        netloc = f"{user}:{MASK}@{host}" if colon else f"{bare}@{host}"
    path, question, query = tail.partition("?")
    if question:
        fragment = ""
        if "#" in query:
            query, fragment = query.split("#", 1)
            fragment = "#" + fragment
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAMS.search(k) for k, _ in pairs):
            query = urlencode([(k, MASK if _SECRET_PARAMS.search(k) else v) for k, v in pairs], safe="*")
        path = f"{path}?{query}{fragment}"
    return f"{scheme}://{netloc}{slash}{path}"


def _split_netloc(rest: str) -> tuple[str, str, str]:
    """(netloc, "/" or "", the rest): the netloc ends at the first '/', '?' or '#' after the last '@'."""
    at = rest.rfind("@")  # a password may hold '/', '?' or '@': over-redacting a path is the safe side
    end = _first_of(rest, "/?#", at + 1)
    if end < len(rest) and rest[end] == "/":
        return rest[:end], "/", rest[end + 1 :]
    return rest[:end], "", rest[end:]


def _first_of(text: str, chars: str, start: int) -> int:
    found = [i for i in (text.find(c, start) for c in chars) if i >= 0]
    return min(found) if found else len(text)


_WEBHOOKS: dict[str, str] = {}  # a webhook's URLs (as configured and as requested) -> how it is shown


def webhook_shown(url: str, *also: str) -> str:
    """``url`` as it may be shown: ``https://hooks.slack.com/***#sha256=1a2b3c4d5e6f`` (scheme, host and
    port, a fingerprint of the whole URL to tell two webhooks apart). From now on ``redact_text`` shows
    ``url``, and each of ``also`` (the same webhook written another way), like that wherever they appear."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    shown = f"{parts.scheme}://{netloc}/{MASK}#sha256={hashlib.sha256(url.encode()).hexdigest()[:12]}"
    for written in (url, *also):
        _WEBHOOKS[written] = shown
    return shown


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted."""
    if "://" not in text:
        return text
    for url, shown in tuple(_WEBHOOKS.items()):
        text = text.replace(url, shown)
    return _URL.sub(lambda m: redact_url(m.group()), text)


class RedactingFilter(logging.Filter):
    """Redacts URLs in a log record's message and traceback before any handler formats it."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put the redacting filter on every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
