"""HTTP/2 in cleartext (h2c, prior knowledge) and gRPC on top of it.

The client preface and an empty SETTINGS frame, then one request: the standard gRPC health
check (`POST /grpc.health.v1.Health/Check`, an empty message), which a gRPC server answers
with `content-type: application/grpc` and a `grpc-status` (UNIMPLEMENTED when it has no
health service), and any other HTTP/2 server with an ordinary status. The server's SETTINGS
are acknowledged, and a GOAWAY with NO_ERROR ends the connection in order. Header blocks are
decoded with hpack (h2's own dependency), imported only here.

`looks_like_h2` tells HTTP/2 frames in an answer to something else, such as the SETTINGS
and GOAWAY an h2c-only server sends back to an HTTP/1.1 GET.
"""

from __future__ import annotations

import struct

from portside._typing import TYPE_CHECKING
from portside.probing.fingerprints.verdict import NOT_MINE, Details, Step, Verdict

if TYPE_CHECKING:
    from hpack import Decoder

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY, CONTINUATION = 0x0, 0x1, 0x3, 0x4, 0x7, 0x9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
HEALTH_PATH = "/grpc.health.v1.Health/Check"
HEALTH = {1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
MAX_FRAME = 1 << 24


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return len(payload).to_bytes(3, "big") + bytes((kind, flags)) + struct.pack("!I", stream) + payload


GOAWAY_NO_ERROR = frame(GOAWAY, 0, 0, struct.pack("!II", 0, 0))


def looks_like_h2(data: bytes) -> bool:
    """Does `data` start with a server's connection preface (a SETTINGS frame on stream 0)?"""
    if len(data) < 9:
        return False
    size = int.from_bytes(data[:3], "big")
    return data[3] == SETTINGS and data[4] in (0, ACK) and data[5:9] == bytes(4) and size % 6 == 0


def _header_block(kind: int, flags: int, payload: bytes) -> bytes:
    """A HEADERS frame's block fragment, without padding and priority fields."""
    if kind == HEADERS and flags & PADDED:
        payload = payload[1 : len(payload) - payload[0]] if payload else b""
    if kind == HEADERS and flags & PRIORITY:
        payload = payload[5:]
    return payload


class H2c:
    """Prior-knowledge HTTP/2 with a gRPC health check as its one request."""

    name = "http2"

    def __init__(self, authority: str) -> None:
        self.authority = authority
        self.at = 0
        self.acked = False
        self.block = b""
        self.headers: list[dict[str, str]] = []
        self.body = b""
        self.decoder: Decoder | None = None

    def opening(self) -> bytes:
        from hpack import Encoder

        block = Encoder().encode([
            (":method", "POST"), (":scheme", "http"), (":path", HEALTH_PATH), (":authority", self.authority),
            ("content-type", "application/grpc"), ("te", "trailers"), ("user-agent", "portside"),
        ])
        return (PREFACE + frame(SETTINGS, 0, 0) + frame(HEADERS, END_HEADERS, 1, block)
                + frame(DATA, END_STREAM, 1, bytes(5)))

    def feed(self, data: bytes) -> Step:
        if self.at == 0 and len(data) >= 9 and not looks_like_h2(data):
            return NOT_MINE
        reply = b""
        while len(data) >= self.at + 9:
            size = int.from_bytes(data[self.at : self.at + 3], "big")
            kind, flags = data[self.at + 3], data[self.at + 4]
            stream = int.from_bytes(data[self.at + 5 : self.at + 9], "big") & 0x7FFFFFFF
            if size > MAX_FRAME:
                return NOT_MINE
            if len(data) < self.at + 9 + size:
                break
            payload = data[self.at + 9 : self.at + 9 + size]
            self.at += 9 + size
            step = self._frame(kind, flags, stream, payload)
            if isinstance(step, Verdict):
                return step
            reply += step
        return reply or None

    def _frame(self, kind: int, flags: int, stream: int, payload: bytes) -> Verdict | bytes:
        if kind == SETTINGS and not flags & ACK and not self.acked:
            self.acked = True
            return frame(SETTINGS, ACK, 0)
        if kind == GOAWAY:
            code = int.from_bytes(payload[4:8], "big") if len(payload) >= 8 else None
            return self._verdict({"goaway": code})
        if stream != 1:
            return b""
        if kind == RST_STREAM:
            return self._verdict({"reset": int.from_bytes(payload[:4], "big")})
        if kind in (HEADERS, CONTINUATION):
            self.block += _header_block(kind, flags, payload)
            if flags & END_HEADERS:
                try:
                    self.headers.append(self._decode(self.block))
                except ValueError as error:
                    return self._verdict({"error": f"undecodable headers: {error}"})
                self.block = b""
        elif kind == DATA:
            self.body += payload[1 : len(payload) - payload[0]] if flags & PADDED and payload else payload
        if flags & END_STREAM and kind in (HEADERS, DATA) and not self.block:
            return self._verdict({})
        return b""

    def _decode(self, block: bytes) -> dict[str, str]:
        from hpack import Decoder
        from hpack.exceptions import HPACKError

        if self.decoder is None:
            self.decoder = Decoder()
        try:
            return {str(name): str(value) for name, value in self.decoder.decode(block, raw=False)}
        except HPACKError as error:
            raise ValueError(str(error)) from error

    def _verdict(self, extra: Details) -> Verdict:
        response = self.headers[0] if self.headers else {}
        fields = {name: value for block in self.headers for name, value in block.items()}
        details: Details = {"status": int(response[":status"]) if response.get(":status", "").isdigit() else None,
                            "server": fields.get("server"), **extra}
        if fields.get("content-type", "").startswith("application/grpc") or "grpc-status" in fields:
            grpc_status = fields.get("grpc-status", "")
            details["grpc_status"] = int(grpc_status) if grpc_status.isdigit() else None
            if fields.get("grpc-message"):
                details["grpc_message"] = fields["grpc-message"]
            if details["grpc_status"] == 0 and len(self.body) >= 7 and self.body[5] == 0x08:
                details["health"] = HEALTH.get(self.body[6], str(self.body[6]))
            return Verdict("grpc", details, farewell=GOAWAY_NO_ERROR)
        return Verdict("http2", details, farewell=GOAWAY_NO_ERROR)

    def at_eof(self, data: bytes) -> Verdict:
        if not looks_like_h2(data):
            return NOT_MINE
        step = self.feed(data)
        return step._replace(farewell=b"") if isinstance(step, Verdict) else self._verdict({})._replace(farewell=b"")
