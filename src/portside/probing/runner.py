"""The probe's I/O: one connection per address, a greeting heard or one question asked, politely.

A port is dialled once per address, and that connection (the one timed for `connect_ms`)
is the one the probe talks on: every extra connection is a line in some server's log. Then:

1. Listen. Servers that speak first (SSH, FTP, SMTP, IMAP, POP3, MySQL, rsync, VNC, NATS)
   send their greeting within a few milliseconds of the accept, so the probe names them
   from it and sends nothing but the protocol's own goodbye (greetings.py). Measured on
   loopback: OpenSSH 5 ms, vsftpd 1 ms, rsync 2 ms, Xvnc, NATS and MariaDB under 1 ms,
   Dovecot 6 ms (it starts a login process per connection); with the two cores busy,
   Dovecot took up to 49 ms and the others up to 25 ms.
2. Otherwise ask one question, the likeliest protocol's (hints.py): by the port's number,
   and by the program listening, which the kernel's listener table and a walk of /proc
   that stops at the holder reveal in about 2 ms (_owner.py), while the greeting, if any,
   is on its way. A port whose program or number says it is a silent server (5432,
   `postgres`) is asked at once, with no wait at all. A program known to speak first is
   given GREETING_WAIT; an unknown one GREETING_GRACE, then it is asked the default
   question, an HTTP GET, since a port on a developer's machine is most often HTTP. So a
   plain HTTP server is named in about GREETING_GRACE. A program that speaks first on some
   ports only (MailHog) is asked its other protocol when no greeting comes. A git daemon is
   not asked at all (it logs any request but one for a repository it serves): it is named
   by its program or port, and says so (`asked: false`).
3. An answer to the wrong question often still names the server (replies.py: an HTTP
   status line, HTTP/2 SETTINGS, a TLS alert, Redis's -ERR). Then its own protocol is asked
   on a fresh connection for the details (`follow`), never another foreign one: at most
   one foreign protocol reaches any server. A port that closes on the GET without a word
   is asked TLS only when its owner is a web runtime (Node, Python, ...): that silent close
   is how their TLS servers meet plain HTTP.

Before closing, the verdict's goodbye is sent and the server's reply read, and what is
unread is drained, so that no server sees a reset. `dial`, `connect`, `talk` and
`converse` serve `wait` and `doctor` as well.
"""

from __future__ import annotations

import socket
import time

from portside._poll import readable
from portside._typing import TYPE_CHECKING, NamedTuple
from portside.model import TcpOutcome
from portside.net.addresses import Target, ip_of
from portside.net.resolve import dial_addresses
from portside.probing.dialling import CONNECT_TIMEOUT, connect
from portside.probing.fingerprints import (
    ASKABLE,
    NOT_MINE,
    Greeting,
    Verdict,
    for_protocol,
    recognise,
    unknown,
)
from portside.probing.hints import UNASKED, Hint, hint

GREETING_GRACE = 0.03
GREETING_WAIT = 0.25
ANSWER_WAIT = 1.0
REPLY_WAIT = 0.5
FAREWELL_WAIT = 0.05
DRAIN_PAUSE = 0.005
DRAIN_MOST_S = 0.25
DRAIN_MOST_BYTES = 8 << 20
MAX_BYTES = 256 * 1024


class Attempt(NamedTuple):
    """What one address said: the TCP outcome, the connect time, and the protocol if any."""

    address: str
    port: int
    tcp: TcpOutcome
    connect_ms: float | None
    protocol: str | None
    details: dict[str, object]


if TYPE_CHECKING:  # shapes for type checkers only (typing is not imported at run time)
    from typing import Protocol

    from portside.probing.fingerprints import Fingerprint

    class Channel(Protocol):
        def sendall(self, data: bytes, /) -> None: ...

        def recv(self, size: int, /) -> bytes: ...

        def settimeout(self, value: float | None, /) -> None: ...


def talk(channel: Channel, fingerprint: Fingerprint, wait: float) -> tuple[Verdict | None, bytes]:
    """Run one fingerprint over an open channel: its verdict (None: the peer stayed silent), and the bytes it sent."""
    heard = exchange(channel, fingerprint, time.monotonic() + wait)
    if heard.verdict is None and heard.closed:
        return NOT_MINE, heard.data
    return heard.verdict, heard.data


def converse(address: str, port: int, fingerprint: Fingerprint, wait: float) -> tuple[Verdict, bytes]:
    """One fingerprint on a fresh connection: its verdict, and the bytes the port sent."""
    _, _, sock = connect(address, port, CONNECT_TIMEOUT)
    if sock is None:
        return NOT_MINE, b""
    with sock:
        verdict, data = talk(sock, fingerprint, wait)
    return verdict or NOT_MINE, data


class Heard(NamedTuple):
    """How a fingerprint's exchange ended: its verdict (None: silence until the deadline), the bytes, a close."""

    verdict: Verdict | None
    data: bytes
    closed: bool


def exchange(channel: Channel, fingerprint: Fingerprint, deadline: float, heard: bytes = b"",
             ask: bool = True) -> Heard:
    """Feed `fingerprint` what the channel says (after `heard`, already received) until it decides or `deadline`.

    Its opening is sent first when `ask`. A deadline reached with bytes in hand is judged as an end of stream.
    """
    data = heard
    try:
        opening = fingerprint.opening() if ask else b""
        if opening:
            channel.sendall(opening)
        step = fingerprint.feed(data) if data else None
        while True:
            if isinstance(step, bytes):
                channel.sendall(step)
            elif step is not None:
                return Heard(step, data, False)
            left = deadline - time.monotonic()
            if left <= 0 or len(data) >= MAX_BYTES:
                return Heard(fingerprint.at_eof(data) if data else None, data, False)
            channel.settimeout(left)
            chunk = channel.recv(65536)
            if not chunk:
                return Heard(fingerprint.at_eof(data), data, True)
            data += chunk
            step = fingerprint.feed(data)
    except TimeoutError:
        return Heard(fingerprint.at_eof(data) if data else None, data, False)
    except OSError:
        return Heard(fingerprint.at_eof(data) if data else None, data, True)


def _listen(sock: socket.socket, until: float) -> bytes | None:
    """The first bytes the server sends by `until` (b"": it closed), or None when it stayed silent."""
    try:
        return sock.recv(65536) if readable(sock, until - time.monotonic()) else None
    except OSError:
        return b""


def _part(sock: socket.socket, farewell: bytes) -> None:
    """Say the protocol's goodbye and end our side, then read what the server still sends (its answer, the rest of
    a page) until it closes or pauses, within bounds: a socket closed with bytes unread resets the connection,
    which some servers log as an error."""
    try:
        if farewell:
            sock.sendall(farewell)
            sock.shutdown(socket.SHUT_WR)
        until = time.monotonic() + DRAIN_MOST_S
        pause = FAREWELL_WAIT if farewell else DRAIN_PAUSE
        drained = 0
        while (left := until - time.monotonic()) > 0 and drained < DRAIN_MOST_BYTES:
            if not readable(sock, min(left, pause)):
                return
            chunk = sock.recv(65536)
            if not chunk:
                return
            drained += len(chunk)
            pause = DRAIN_PAUSE  # once it answers, only what follows at once
    except OSError:
        return


def _follow(address: str, target: Target, verdict: Verdict) -> Verdict:
    """Ask the protocol an answer named, on a fresh connection; the first verdict stands if this one says less."""
    assert verdict.follow is not None
    fingerprint = for_protocol(verdict.follow, host=target.host or address, port=target.port,
                               server_name=target.name)
    _, _, sock = connect(address, target.port, CONNECT_TIMEOUT)
    if sock is None:
        return verdict._replace(follow=None)
    with sock:
        heard = exchange(sock, fingerprint, time.monotonic() + REPLY_WAIT)
        found = heard.verdict if heard.verdict is not None and heard.verdict.protocol is not None else None
        _part(sock, found.farewell if found else b"")
    if found is None:
        return verdict._replace(follow=None)
    if found.protocol == verdict.protocol:  # more of the same: what the first answer said stays, unless said anew
        return Verdict(found.protocol, {**verdict.details, **found.details})
    return found._replace(farewell=b"")


def _is_here(sock: socket.socket, address: str) -> bool:
    """Is the connection to this machine? A loopback address, or one the kernel also picked as our own end."""
    try:
        return ip_of(address).is_loopback or ip_of(sock.getsockname()[0]) == ip_of(address)
    except (OSError, ValueError):
        return False


def _question(sock: socket.socket, address: str, target: Target) -> tuple[Hint, float]:
    """What to expect at the port, and how long to listen for a greeting before asking."""
    if target.secure:
        return Hint("tls", False, False), 0.0
    if target.scheme is not None:
        return Hint("http", False, False), 0.0
    guess = hint(target.port, None)
    if guess.first not in ASKABLE and _is_here(sock, address):
        from portside.probing._owner import owner_of

        owner = owner_of(address, target.port)
        guess = hint(target.port, owner) if owner is not None else guess
    if guess.first in ASKABLE:
        return guess, 0.0
    return guess, GREETING_WAIT if guess.speaks_first else GREETING_GRACE


def conclude(result: Heard, asked: str, guess: Hint) -> Verdict:
    """The verdict on a question's answer: its own, what the answer gives away, or what little was seen."""
    if result.verdict is not None and result.verdict.protocol is not None:
        return result.verdict
    named = recognise(result.data)
    if named is not None:
        return named
    if result.data:
        return unknown(result.data)
    if not result.closed:
        return Verdict("unknown", {"first_bytes": "", "note": f"no answer to {asked}"})
    note = Verdict("unknown", {"first_bytes": "", "note": f"closed without answering {asked}"})
    return note._replace(follow="tls") if asked == "http" and guess.web_runtime else note


def identify(sock: socket.socket, address: str, target: Target) -> Verdict:
    """Name the protocol spoken on an open connection to `address`, then close it in order."""
    began = time.monotonic()
    guess, window = _question(sock, address, target)
    if guess.first in UNASKED:
        return Verdict(guess.first, {"asked": False, "named_by": guess.source})
    heard = _listen(sock, began + window)
    deadline = time.monotonic() + ANSWER_WAIT
    if heard == b"":
        return Verdict("unknown", {"first_bytes": "", "note": "closed without a word"})
    if heard is not None:
        result = exchange(sock, Greeting(guess.first), deadline, heard, ask=False)
        verdict = result.verdict if result.verdict and result.verdict.protocol else recognise(result.data)
        verdict = verdict or unknown(result.data)
    elif guess.speaks_first and guess.otherwise is None:
        return Verdict("unknown", {"first_bytes": "", "note": "said nothing"})
    else:
        asked = guess.otherwise or guess.first or "http"
        result = exchange(sock, for_protocol(asked, host=target.host or address, port=target.port,
                                             server_name=target.name, path=target.path), deadline)
        verdict = conclude(result, asked, guess)
    _part(sock, verdict.farewell if verdict is result.verdict else b"")
    sock.close()
    return _follow(address, target, verdict) if verdict.follow else verdict


def probe(target: Target) -> list[Attempt]:
    """Dial every address of `target`; for each that connects, name the protocol spoken there."""
    attempts = []
    for address in dial_addresses(target):
        tcp, connect_ms, sock = connect(address, target.port, CONNECT_TIMEOUT)
        if sock is None:
            attempts.append(Attempt(address, target.port, tcp, connect_ms, None, {}))
            continue
        with sock:
            verdict = identify(sock, address, target)
        attempts.append(Attempt(address, target.port, tcp, connect_ms, verdict.protocol, verdict.details))
    return attempts
