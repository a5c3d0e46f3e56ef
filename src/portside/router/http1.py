"""Sans-IO HTTP/1.1 framing for the proxy: bytes in, message events out, and the bytes to send.

httptools (llhttp, the parser of Node.js) does the parsing; this module turns its
callbacks into events — `Head`, `Data`, `End`, and `Upgraded` when the connection leaves
HTTP (WebSocket) — and encodes messages back. Bodies are passed on as they arrive, never
buffered whole: a chunked request body is re-chunked piece by piece, so streamed
uploads flow through. No sockets here: relay.py and http2.py do the I/O.
"""

from __future__ import annotations

from typing import NamedTuple

import httptools


class ProtocolError(Exception):
    """The peer sent bytes that are not HTTP/1.x."""


class Head(NamedTuple):
    """A request line (method, target) or a status line (status, reason), and the headers."""

    method: bytes
    target: bytes
    status: int
    reason: bytes
    version: bytes
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    upgrade: bool

    def header(self, name: bytes) -> bytes | None:
        return next(iter(self.header_values(name)), None)

    def header_values(self, name: bytes) -> list[bytes]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def chunked(self) -> bool:
        coding = self.header(b"transfer-encoding")
        return coding is not None and coding.lower().rstrip().endswith(b"chunked")


class Data(NamedTuple):
    data: bytes


class End(NamedTuple):
    """The message is complete."""


class Upgraded(NamedTuple):
    """The connection switched protocols; `rest` is what followed the head, already the new protocol's."""

    rest: bytes


Event = Head | Data | End | Upgraded


class Reader:
    """Parse one direction of a connection: requests (`response=False`) or responses.

    `head_only()` tells a response reader that the request was HEAD, so the response it is
    about to read ends with its headers whatever Content-Length says.
    """

    def __init__(self, response: bool) -> None:
        self.response = response
        self.events: list[Event] = []
        self._headers: list[tuple[bytes, bytes]] = []
        self._target = b""
        self._reason = b""
        self._skip_body = False
        self._parser = self._new_parser()
        self._upgraded = False

    def _new_parser(self) -> httptools.HttpRequestParser | httptools.HttpResponseParser:
        return httptools.HttpResponseParser(self) if self.response else httptools.HttpRequestParser(self)

    def head_only(self) -> None:
        self._skip_body = True

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._headers, self._target, self._reason = [], b"", b""

    def on_url(self, url: bytes) -> None:
        self._target += url

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        if isinstance(parser, httptools.HttpResponseParser):
            method, status = b"", parser.get_status_code()
        else:
            method, status = parser.get_method(), 0
        self.events.append(Head(method, self._target, status, self._reason, parser.get_http_version().encode(),
                                self._headers, parser.should_keep_alive(), parser.should_upgrade()))

    def on_body(self, body: bytes) -> None:
        self.events.append(Data(body))

    def on_message_complete(self) -> None:
        self.events.append(End())

    def feed(self, data: bytes) -> list[Event]:
        """Events for `data`; after `Upgraded`, bytes are no longer HTTP and come back as `Data` unparsed."""
        if self._upgraded:
            return [Data(data)] if data else []
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            offset = upgrade.args[0]
            self._upgraded = True
            self.events.append(Upgraded(data[offset:]))
        except httptools.HttpParserError as error:
            raise ProtocolError(str(error)) from None
        events, self.events = self.events, []
        return self._cut_after_head(events) if self._skip_body else events

    def _cut_after_head(self, events: list[Event]) -> list[Event]:
        """After HEAD: the final response ends with its headers; a fresh parser takes the next one."""
        final = next((i for i, e in enumerate(events) if isinstance(e, Head) and e.status >= 200), None)
        if final is None:
            return events
        self._skip_body = False
        self._parser = self._new_parser()
        return [*events[: final + 1], End()]


def encode_head(head: Head, headers: list[tuple[bytes, bytes]] | None = None, extra: bytes = b"") -> bytes:
    """The head as bytes on the wire: request or status line, `headers` (default: the head's own), `extra` lines."""
    if head.method:
        lines = [b"%s %s HTTP/%s\r\n" % (head.method, head.target, head.version)]
    else:
        lines = [b"HTTP/%s %d %s\r\n" % (head.version, head.status, head.reason)]
    lines += [b"%s: %s\r\n" % pair for pair in (head.headers if headers is None else headers)]
    lines.append(extra + b"\r\n")
    return b"".join(lines)


def encode_data(data: bytes, chunked: bool) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if chunked else data


def encode_end(chunked: bool) -> bytes:
    return b"0\r\n\r\n" if chunked else b""
