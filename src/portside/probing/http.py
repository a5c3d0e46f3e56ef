"""The head of an HTTP/1.x response (status line and headers), parsed from bytes as they arrive.

Sans-IO: `parse_response_head` takes everything received so far and says "need more"
(None), "here is the head", or raises `NotHttp` as soon as the bytes cannot be HTTP.
Bare LF line ends are accepted, as curl and browsers do.
"""

from __future__ import annotations

from portside._typing import NamedTuple

MAX_HEAD = 64 * 1024
PREFIX = b"HTTP/"


class NotHttp(ValueError):
    """The bytes are not the start of an HTTP/1.x response."""


class ResponseHead(NamedTuple):
    version: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def _head_end(data: bytes) -> int | None:
    ends = [index for index in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if index >= 0]
    return min(ends) if ends else None


def _status_line(line: str) -> tuple[str, int, str]:
    version, _, rest = line.partition(" ")
    code, _, reason = rest.partition(" ")
    if version not in ("HTTP/1.0", "HTTP/1.1") or len(code) != 3 or not code.isdigit() or code[0] == "0":
        raise NotHttp(f"not an HTTP status line: {line[:80]!r}")
    return version, int(code), reason.strip()


def parse_response_head(data: bytes) -> ResponseHead | None:
    """The response head once `data` holds all of it; None while it may still be coming."""
    start = data[: len(PREFIX)]
    if not PREFIX.startswith(start):
        raise NotHttp(f"not HTTP, first bytes: {data[:16]!r}")
    end = _head_end(data)
    if end is None:
        if len(data) > MAX_HEAD:
            raise NotHttp(f"no end of the response head within {MAX_HEAD} bytes")
        return None
    text = data[:end].decode("latin-1")
    lines = text.replace("\r\n", "\n").split("\n")
    version, status, reason = _status_line(lines[0])
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise NotHttp(f"malformed header line: {line[:80]!r}")
        headers.append((name, value.strip()))
    return ResponseHead(version, status, reason, tuple(headers))
