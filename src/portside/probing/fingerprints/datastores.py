"""PostgreSQL, Redis and memcached: each asked the first question its own clients ask.

PostgreSQL gets an SSLRequest, which it answers with one byte ('S' or 'N') and, unlike a
startup packet, does not log when the client then leaves. After an 'S' the TLS handshake is
completed and closed in order: a server that offered TLS logs "could not accept SSL
connection: EOF detected" for a client that leaves mid-handshake. Redis gets an inline
PING, memcached the `version` command; neither logs anything.
"""

from __future__ import annotations

import struct

from portside.probing.fingerprints.handshake import Tls
from portside.probing.fingerprints.verdict import NOT_MINE, Step, Verdict, first_line, text


class Postgres:
    """An SSLRequest: a PostgreSQL server answers 'S' (TLS offered, then shaken hands with) or 'N'."""

    name = "postgresql"
    SSL_REQUEST = struct.pack("!ii", 8, 80877103)

    def __init__(self, server_name: str | None = None) -> None:
        self.server_name = server_name
        self.tls: Tls | None = None

    def opening(self) -> bytes:
        return self.SSL_REQUEST

    def feed(self, data: bytes) -> Step:
        if data == b"N":
            return Verdict("postgresql", {"ssl": False})
        if data[:1] != b"S":
            return NOT_MINE
        if self.tls is None:
            if len(data) > 1:  # nothing may follow 'S' before our ClientHello
                return NOT_MINE
            self.tls = Tls(self.server_name)
            return self.tls.opening()
        return self._after_tls(self.tls.feed(data[1:]))

    def at_eof(self, data: bytes) -> Verdict:
        if data == b"N":
            return Verdict("postgresql", {"ssl": False})
        if data[:1] == b"S":
            return Verdict("postgresql", {"ssl": True})
        return NOT_MINE

    @staticmethod
    def _after_tls(step: Step) -> Step:
        if not isinstance(step, Verdict):
            return step
        tls = {key: value for key, value in step.details.items() if key != "alpn"}
        return Verdict("postgresql", {"ssl": True, "tls": tls}, farewell=step.farewell)


class Redis:
    """An inline PING: +PONG, or an error that still names Redis (NOAUTH, DENIED in protected mode)."""

    name = "redis"

    def opening(self) -> bytes:
        return b"PING\r\n"

    def feed(self, data: bytes) -> Verdict | None:
        line = first_line(data)
        if line is None:
            return None if len(data) < 512 and data[:1] in (b"", b"+", b"-") else NOT_MINE
        return redis_reply(line)

    def at_eof(self, data: bytes) -> Verdict:
        return (self.feed(data + b"\n") if data else None) or NOT_MINE


def redis_reply(line: bytes) -> Verdict:
    """What Redis's first reply line says: PONG, or the error every command gets when auth is required."""
    if line == b"+PONG":
        return Verdict("redis", {"auth_required": False})
    if line.startswith((b"-NOAUTH", b"-WRONGPASS")):
        return Verdict("redis", {"auth_required": True, "error": text(line[1:])})
    if line.startswith(b"-DENIED"):
        return Verdict("redis", {"protected_mode": True, "error": text(line[1:])})
    return NOT_MINE


class Memcached:
    """The `version` command: VERSION 1.6.18."""

    name = "memcached"

    def opening(self) -> bytes:
        return b"version\r\n"

    def feed(self, data: bytes) -> Verdict | None:
        line = first_line(data)
        if line is None:
            return None if len(data) < 64 and b"VERSION ".startswith(data[:8]) else NOT_MINE
        if line.startswith(b"VERSION "):
            return Verdict("memcached", {"version": text(line[8:])})
        return NOT_MINE

    def at_eof(self, data: bytes) -> Verdict:
        return NOT_MINE
