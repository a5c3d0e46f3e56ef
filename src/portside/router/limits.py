"""What the proxy takes from a client before it refuses, and how long it waits: nginx's defaults as the model.

nginx reads a request head into `large_client_header_buffers 4 8k`: a request line longer
than 8 KB gets 414, a longer header line 400 ("Request Header Or Cookie Too Large"); it has
no header count. portside allows 8 KB per line, 64 KB for the whole head and 100 header
lines, and answers 414 for the line and 431 (RFC 6585) for the rest. A head must arrive
within 30 s once it began (nginx's client_header_timeout is 60 s) or it gets 408; a
connection with no request under way is closed after 75 s (nginx's keepalive_timeout).
Each can be set by a PORTSIDE_PROXY_* environment variable, read when the proxy starts.
"""

from __future__ import annotations

from collections.abc import Mapping

from portside._typing import NamedTuple
from portside.errors import UsageError
from portside.net.durations import parse_duration


class Limits(NamedTuple):
    """Sizes in bytes, timeouts in seconds."""

    line: int = 8192
    head: int = 65536
    fields: int = 100
    header_timeout: float = 30.0
    idle_timeout: float = 75.0


DEFAULT_LIMITS = Limits()


def _setting(environ: Mapping[str, str], variable: str) -> str | None:
    text = environ.get(variable, "")
    return text if text.strip() else None


def _count(environ: Mapping[str, str], variable: str, default: int) -> int:
    text = _setting(environ, variable)
    if text is None:
        return default
    stripped = text.strip()
    if not (stripped.isascii() and stripped.isdigit()) or int(stripped) == 0:
        raise UsageError(f"{variable}: invalid value {text!r}: expected a whole number of bytes above 0, e.g. 8192")
    return int(stripped)


def _seconds(environ: Mapping[str, str], variable: str, default: float) -> float:
    text = _setting(environ, variable)
    if text is None:
        return default
    seconds = parse_duration(text, f"{variable} value")
    if seconds <= 0:
        raise UsageError(f"{variable}: invalid value {text!r}: expected a duration above 0, e.g. 30s")
    return seconds


def from_environment(environ: Mapping[str, str]) -> Limits:
    """The defaults, each replaced by its variable when that is set (and not empty)."""
    default = DEFAULT_LIMITS
    return Limits(line=_count(environ, "PORTSIDE_PROXY_MAX_LINE", default.line),
                  head=_count(environ, "PORTSIDE_PROXY_MAX_HEAD", default.head),
                  fields=_count(environ, "PORTSIDE_PROXY_MAX_HEADERS", default.fields),
                  header_timeout=_seconds(environ, "PORTSIDE_PROXY_HEADER_TIMEOUT", default.header_timeout),
                  idle_timeout=_seconds(environ, "PORTSIDE_PROXY_IDLE_TIMEOUT", default.idle_timeout))
