"""Sans-IO HTTP/1.1 framing for the proxy: bytes in, message events out, and the bytes to send.

httptools (llhttp, the parser of Node.js) does the parsing; this module turns its
callbacks into events — `Head`, `Data`, `End`, `Upgraded` when the connection leaves
HTTP (WebSocket), and `Refusal` when the peer's bytes cannot be served — and encodes
messages back. Bodies are passed on as they arrive, never buffered whole: a chunked
request body is re-chunked piece by piece, so streamed uploads flow through.

A request reader also decides what the proxy refuses, with the status nginx would give:
a head over the limits (limits.py: 414, 431; bytes that make no progress are counted, so a
flood is refused at the limit, not buffered), an HTTP version other than 1.0 and 1.1 (505),
a Transfer-Encoding other than a single `chunked` (501), anything llhttp rejects (400). The
events parsed before a refusal come first, so the requests before it are still answered;
after a refusal, or after a request that closes the connection (`Connection: close`,
HTTP/1.0), the rest is ignored. After a request that asks to upgrade, the bytes that follow
are held, unparsed, until the backend's answer says what they are: `upgrade(True)` (101)
hands them over as the new protocol's, `upgrade(False)` parses them as the next requests.
No sockets here: relay.py and http2.py do the I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import NamedTuple, cast

import httptools

from portside.router.limits import DEFAULT_LIMITS, Limits

# a response head is the backend's: bounded in total only, so memory stays bounded
RESPONSE_LIMITS = Limits(line=1 << 16, head=1 << 16, fields=1 << 16)
# llhttp's words for what nginx answers with a status of its own; anything else it rejects gets 400
LLHTTP_STATUS = {"Invalid HTTP version": 505, "Invalid `Transfer-Encoding` header value": 501,
                 "Request has invalid `Transfer-Encoding`": 501}
VERSIONS = frozenset({"1.1", "1.0"})
TRANSFER_ENCODING = b"transfer-encoding"


class Head(NamedTuple):
    """A request line (method, target) or a status line (status, reason), and the headers; `chunked` when a
    request's body is framed in chunks (a response's is passed on as it is, and not looked at)."""

    method: bytes
    target: bytes
    status: int
    reason: bytes
    version: bytes
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    upgrade: bool
    chunked: bool = False

    def header(self, name: bytes) -> bytes | None:
        return next(iter(self.header_values(name)), None)

    def header_values(self, name: bytes) -> list[bytes]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


_new_head = tuple.__new__  # Head(...) goes through a Python __new__ with defaults: twice per request, this is cheaper


class Data(NamedTuple):
    data: bytes


class End(NamedTuple):
    """The message is complete."""


END = End()  # one for every message: it carries nothing


class Upgraded(NamedTuple):
    """The connection switched protocols; `rest` is what followed the head, already the new protocol's."""

    rest: bytes


class Refusal(NamedTuple):
    """The peer's bytes cannot be served: the status to answer with and why. Nothing follows it."""

    status: int
    reason: str


Event = Head | Data | End | Upgraded | Refusal


class ReaderState(StrEnum):
    """What a reader does with the bytes it is fed."""

    PARSING = "parsing"
    HOLDING = "holding"  # after an upgrade request: kept unparsed until the backend answers it
    SWITCHED = "switched"  # after a 101: the new protocol's, passed on unparsed
    DONE = "done"  # after a refusal, or a request that closes the connection: ignored


PARSING, HOLDING = ReaderState.PARSING, ReaderState.HOLDING  # read on every feed


class _Refused(Exception):
    """Raised in a callback to stop llhttp; the refusal is kept by the reader."""


class Reader:
    """Parse one direction of a connection: requests (`response=False`) or responses.

    `head_only()` tells a response reader that the request was HEAD, so the response it is
    about to read ends with its headers whatever Content-Length says.
    """

    def __init__(self, response: bool, limits: Limits = DEFAULT_LIMITS) -> None:
        self.response = response
        limits = RESPONSE_LIMITS._replace(head=limits.head) if response else limits
        self._line, self._head, self._fields = limits.line, limits.head, limits.fields  # read per head: plain ints
        self._gate = min(limits.line, limits.head)  # a head that came in fewer bytes cannot be over either
        self.events: list[Event] = []
        self.state = PARSING
        self.in_message = False
        self._held = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []
        self._target = b""
        self._reason = b""
        self._feeding = self._head_bytes = 0  # the bytes being fed; at least those of the head so far
        self._stalled = 0  # bytes fed since a callback last made progress
        self._mark = -1  # the progress (header and target sizes) when last looked at
        self._in_head = self._closes = self._chunked = self._skip_body = False
        self._refusal: Refusal | None = None
        # httptools looks the callbacks up once, on the instance: a response's header lines are only kept
        self.on_header: Callable[[bytes, bytes], None] = self._headers_append if response else self._request_field
        self._parser = self._new_parser()

    def _new_parser(self) -> httptools.HttpRequestParser | httptools.HttpResponseParser:
        return httptools.HttpResponseParser(self) if self.response else httptools.HttpRequestParser(self)

    @property
    def holding(self) -> bool:
        """An upgrade request was read: what follows waits for `upgrade()`."""
        return self.state is ReaderState.HOLDING

    def head_only(self) -> None:
        self._skip_body = True

    def _refuse(self, status: int, reason: str) -> _Refused:
        self._refusal = Refusal(status, reason)
        return _Refused()

    def _too_large(self) -> str:
        return f"the request head is larger than {self._head} bytes"

    def _measure(self, headers: list[tuple[bytes, bytes]], line: int) -> None:
        """Refuse a head over the limits: a header line, the count, the total; `line` is the first line's size.

        Called only when the head may be over (it came in more bytes than a line may have, or has too many
        lines), so a request of ordinary size costs no count of its lines.
        """
        if line > self._line:
            raise self._refuse(414, f"the request line is longer than {self._line} bytes")
        total = line + 2
        for name, value in headers:
            size = len(name) + len(value) + 2  # "name: value"
            if size > self._line:
                raise self._refuse(431, f"a header line is longer than {self._line} bytes")
            total += size + 2
        if len(headers) > self._fields:
            raise self._refuse(431, f"the request has more than {self._fields} header lines")
        if total > self._head:
            raise self._refuse(431, self._too_large())

    def _first_line(self) -> int:
        parser = self._parser
        if isinstance(parser, httptools.HttpResponseParser):
            return len(self._reason) + 13
        return len(parser.get_method()) + len(self._target) + 10

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._headers, self._target, self._reason = [], b"", b""
        self._in_head, self.in_message, self._chunked = True, True, False
        self._head_bytes = self._feeding  # at most this feed's bytes are the head's so far

    def on_url(self, url: bytes) -> None:
        self._target += url
        if len(self._target) > self._line:
            raise self._refuse(414, f"the request line is longer than {self._line} bytes")

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def _headers_append(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def _request_field(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))
        if len(name) == 17 and name.lower() == TRANSFER_ENCODING and self._in_head:
            self._coding(value)

    def _coding(self, value: bytes) -> None:
        """A request's body is forwarded re-chunked, so `chunked` alone is all a request may say (nginx's rule)."""
        if value.strip().lower() != b"chunked":
            raise self._refuse(501, f"Transfer-Encoding {value.decode('latin-1')!r} is not supported: only chunked")
        self._chunked = True

    def on_headers_complete(self) -> None:
        parser = self._parser
        headers, self._headers = self._headers, []  # trailers, if any, are counted but not kept
        self._in_head = False
        version = parser.get_http_version()
        if isinstance(parser, httptools.HttpResponseParser):
            method, status = b"", parser.get_status_code()
        else:
            method, status = parser.get_method(), 0
        if self._head_bytes > self._gate or len(headers) > self._fields:
            self._measure(headers, self._first_line())
        head: Head = _new_head(Head, (method, self._target, status, self._reason, version.encode(), headers,
                                      parser.should_keep_alive(), parser.should_upgrade(), self._chunked))
        if method:
            if version != "1.1" or head.upgrade:
                self._vet(head, version)
            self._closes = not head.keep_alive
        self.events.append(head)

    def _vet(self, head: Head, version: str) -> None:
        """What only an uncommon request needs looked at: its version, and an upgrade's body."""
        if version not in VERSIONS:
            raise self._refuse(505, f"HTTP/{version} is not supported here: HTTP/1.1 and 1.0 only "
                                    "(HTTP/2 is served over https://)")
        if version == "1.0" and head.chunked:  # RFC 9112 6.1: its framing is faulty
            raise self._refuse(400, "Transfer-Encoding in an HTTP/1.0 request")
        if head.upgrade and (head.chunked or head.header(b"content-length") not in (None, b"0")):
            raise self._refuse(400, "an Upgrade request with a body is not supported")

    def on_body(self, body: bytes) -> None:
        self.events.append(Data(body))

    def on_message_complete(self) -> None:
        self.in_message = False
        self.events.append(END)
        if self._closes:  # the request closes the connection: what follows is ignored
            self.state = ReaderState.DONE

    def feed(self, data: bytes) -> list[Event]:
        """Events for `data`; after `Upgraded`, bytes are no longer HTTP and come back as `Data` unparsed."""
        if self.state is not PARSING:
            return self._aside(data)
        self._feeding = fed = len(data)
        if self._in_head:
            self._head_bytes += fed
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._switch(data[upgrade.args[0]:])
        except httptools.HttpParserError as error:
            self._fail(error)
        events, self.events = self.events, []
        if events:
            self._stalled = 0
        else:
            self._stall(fed, events)
        if (self._in_head or self._headers) and self.state is PARSING:  # a head (or trailers) under way
            self._measure_partly(events)
        return self._cut_after_head(events) if self._skip_body else events

    def _measure_partly(self, events: list[Event]) -> None:
        """The lines of a head (or trailers) still under way, measured so that a head over the limits is
        refused before it is buffered whole."""
        if not (self._in_head and self._head_bytes > self._gate or len(self._headers) > self._fields):
            return
        try:
            self._measure(self._headers, self._first_line() if self._in_head else 0)
        except _Refused:
            self.state = ReaderState.DONE
            events.append(cast(Refusal, self._refusal))

    def _aside(self, data: bytes) -> list[Event]:
        """Bytes that are not parsed: the new protocol's after a switch, held until the backend's answer, or
        ignored (after a refusal, or after a request that closes the connection)."""
        if self.state is ReaderState.SWITCHED:
            return [Data(data)] if data else []
        if self.state is ReaderState.HOLDING:
            self._held += data
        return []

    def _stall(self, fed: int, events: list[Event]) -> None:
        """Count bytes that made no progress (no event, no complete header line); past the head limit, refuse:
        one line without end, or framing without data, is a flood."""
        mark = len(self._headers) + len(self._target)
        if mark != self._mark:
            self._mark, self._stalled = mark, 0
            return
        self._stalled += fed
        if self._stalled > self._head and self.state is PARSING:
            self.state = ReaderState.DONE
            events.append(Refusal(431, self._too_large()) if self._in_head else
                          Refusal(400, f"{self._stalled} bytes without a complete line"))

    def _switch(self, rest: bytes) -> None:
        """The message before `rest` asked to switch protocols: a 101 response did, a request waits for one."""
        if self.response:
            self.state = ReaderState.SWITCHED
            self.events.append(Upgraded(rest))
        else:
            self.state = ReaderState.HOLDING
            self._held += rest

    def _fail(self, error: httptools.HttpParserError) -> None:
        if self.state is ReaderState.DONE and self._refusal is None:
            return  # bytes after a request that closes the connection: ignored, as nginx does
        self.state = ReaderState.DONE
        reason = str(error)
        self.events.append(self._refusal or Refusal(LLHTTP_STATUS.get(reason, 400), f"malformed request: {reason}"))

    def upgrade(self, accepted: bool) -> list[Event]:
        """The backend's answer to the upgrade request: the held bytes as the new protocol's, or as requests."""
        if self.state is not ReaderState.HOLDING:
            return []
        held, self._held = bytes(self._held), bytearray()
        if accepted:
            self.state = ReaderState.SWITCHED
            return [Upgraded(held)]
        self.state, self._parser = PARSING, self._new_parser()
        return self.feed(held)

    def _cut_after_head(self, events: list[Event]) -> list[Event]:
        """After HEAD: the final response ends with its headers; a fresh parser takes the next one."""
        final = next((i for i, e in enumerate(events) if isinstance(e, Head) and e.status >= 200), None)
        if final is None:
            return events
        self._skip_body = False
        self._parser = self._new_parser()
        return [*events[: final + 1], END]


def encode_head(head: Head, headers: list[tuple[bytes, bytes]] | None = None, extra: bytes = b"",
                leave_out: frozenset[bytes] = frozenset()) -> bytes:
    """The head as bytes on the wire: request or status line, `headers` (default: the head's own) less those
    named in `leave_out` (lower-case), then `extra` lines. One join of flat parts: it runs once per request."""
    if head.method:
        parts = [b"%s %s HTTP/%s\r\n" % (head.method, head.target, head.version)]
    else:
        parts = [b"HTTP/%s %d %s\r\n" % (head.version, head.status, head.reason)]
    for name, value in head.headers if headers is None else headers:
        if not (leave_out and name.lower() in leave_out):
            parts += (name, b": ", value, b"\r\n")
    parts += (extra, b"\r\n")
    return b"".join(parts)


def encode_data(data: bytes, chunked: bool) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if chunked else data


def encode_end(chunked: bool) -> bytes:
    return b"0\r\n\r\n" if chunked else b""
