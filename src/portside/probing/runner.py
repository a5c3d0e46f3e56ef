"""The probe's I/O: connect, then feed each fingerprint what the port says.

Every address of the target is dialled in the resolver's order. After a TCP connect, the
fingerprints run one at a time, each on a fresh connection with bounded bytes and time:
first a silent wait for a banner, then TLS, PostgreSQL, Redis, memcached, MongoDB and HTTP (for
`https://` targets TLS is all that is asked). A reply another fingerprint recognises as
HTTP is followed by the HTTP probe at once. `dial` and `tcp_outcome` say what a TCP connect
ended in, for `wait` and `doctor` as well.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

from portside.model import TcpOutcome
from portside.net.addresses import Target
from portside.net.resolve import dial_addresses, sockaddr
from portside.probing.fingerprints import (
    NOT_MINE,
    Banner,
    Http,
    Memcached,
    Mongo,
    Postgres,
    Redis,
    Tls,
    Verdict,
    unknown,
)

CONNECT_TIMEOUT = 1.0
BANNER_WAIT = 0.3
REPLY_WAIT = 0.5
MAX_BYTES = 64 * 1024
# A connect still under way (a non-blocking one, or one cut off by a socket timeout) has had no answer.
NO_ANSWER_YET = frozenset({errno.ETIMEDOUT, errno.EINPROGRESS, errno.EALREADY, errno.EAGAIN})


class Fingerprint(Protocol):
    name: str

    def opening(self) -> bytes: ...

    def feed(self, data: bytes) -> Verdict | bytes | None: ...

    def at_eof(self, data: bytes) -> Verdict: ...


class Attempt(NamedTuple):
    """What one address said: the TCP outcome, the connect time, and the protocol if any."""

    address: str
    port: int
    tcp: TcpOutcome
    connect_ms: float | None
    protocol: str | None
    details: dict[str, object]


def tcp_outcome(code: int) -> TcpOutcome:
    """What a connect's errno says (0: it connected)."""
    if code == 0:
        return TcpOutcome.CONNECTED
    if code == errno.ECONNREFUSED:
        return TcpOutcome.REFUSED
    if code in NO_ANSWER_YET:
        return TcpOutcome.TIMEOUT
    return TcpOutcome.UNREACHABLE


def dial(sock: socket.socket, address: str, port: int) -> int:
    """`sock.connect_ex`, with an address no route can even be tried for (an unknown zone: fe80::1%nosuch)
    answered as EHOSTUNREACH rather than raised."""
    try:
        return sock.connect_ex(sockaddr(address, port))
    except OSError:
        return errno.EHOSTUNREACH


def connect(address: str, port: int, timeout: float) -> tuple[TcpOutcome, float | None, socket.socket | None]:
    """Dial `address`:`port`: the outcome, its time (when the peer answered), and the open socket."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)  # Python's sockets are close-on-exec already
    sock.settimeout(timeout)
    began = time.perf_counter()
    outcome = tcp_outcome(dial(sock, address, port))
    took = round(1000 * (time.perf_counter() - began), 3)
    if outcome is TcpOutcome.CONNECTED:
        return outcome, took, sock
    sock.close()
    return outcome, took if outcome is TcpOutcome.REFUSED else None, None


class Channel(Protocol):
    def sendall(self, data: bytes, /) -> None: ...

    def recv(self, size: int, /) -> bytes: ...

    def settimeout(self, value: float | None, /) -> None: ...


def talk(channel: Channel, fingerprint: Fingerprint, wait: float) -> tuple[Verdict | None, bytes]:
    """Run one fingerprint over an open channel: its verdict (None: the peer stayed silent), and the bytes it sent."""
    data = b""
    try:
        opening = fingerprint.opening()
        if opening:
            channel.sendall(opening)
        deadline = time.monotonic() + wait
        while len(data) < MAX_BYTES:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, data
            channel.settimeout(left)
            chunk = channel.recv(4096)
            if not chunk:
                return fingerprint.at_eof(data), data
            data += chunk
            step = fingerprint.feed(data)
            if isinstance(step, bytes):
                channel.sendall(step)
            elif step is not None:
                return step, data
        return NOT_MINE, data
    except TimeoutError:
        return None, data
    except OSError:
        return NOT_MINE, data


def converse(address: str, port: int, fingerprint: Fingerprint, wait: float) -> tuple[Verdict, bytes]:
    """One fingerprint on a fresh connection: its verdict, and the bytes the port sent."""
    _, _, sock = connect(address, port, CONNECT_TIMEOUT)
    if sock is None:
        return NOT_MINE, b""
    with sock:
        verdict, data = talk(sock, fingerprint, wait)
    return verdict or NOT_MINE, data


def _identify(address: str, target: Target) -> Verdict:
    http: Callable[[], Fingerprint] = lambda: Http.to(target, address)
    sni = target.name
    if target.secure:
        plan: list[tuple[Callable[[], Fingerprint], float]] = [(lambda: Tls(sni), REPLY_WAIT)]
    else:
        plan = [
            (Banner, BANNER_WAIT), (lambda: Tls(sni), REPLY_WAIT), (Postgres, REPLY_WAIT), (Redis, REPLY_WAIT),
            (Memcached, REPLY_WAIT), (Mongo, REPLY_WAIT), (http, REPLY_WAIT),
        ]
    first = b""
    for make, wait in plan:
        verdict, data = converse(address, target.port, make(), wait)
        if verdict.protocol is not None:
            return verdict
        first = first or data
        if data.startswith(b"HTTP/1."):
            verdict, _ = converse(address, target.port, http(), REPLY_WAIT)
            if verdict.protocol is not None:
                return verdict
    return unknown(first) if first else Verdict("unknown", {"first_bytes": "", "note": "said nothing"})


def probe(target: Target) -> list[Attempt]:
    """Dial every address of `target`; for each that connects, name the protocol spoken there."""
    attempts = []
    for address in dial_addresses(target):
        tcp, connect_ms, sock = connect(address, target.port, CONNECT_TIMEOUT)
        if sock is None:
            attempts.append(Attempt(address, target.port, tcp, connect_ms, None, {}))
            continue
        sock.close()
        verdict = _identify(address, target)
        attempts.append(Attempt(address, target.port, tcp, connect_ms, verdict.protocol, verdict.details))
    return attempts
