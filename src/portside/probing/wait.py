"""Wait until targets accept connections (or answer HTTP, or refuse them all).

Each target is dialled on every address it resolves to (`localhost` on both ::1 and
127.0.0.1, whatever /etc/hosts says), in rounds, the next `interval` after the last began.
A loopback address is first looked up in the kernel's socket tables (net/sockdiag.py: one
netlink round trip for all of a target's addresses, where a connect costs a TCP handshake
or its reset); it is dialled only when a listener is there, so a 3 ms interval detects a new
listener within a few milliseconds at a fraction of the cost of a connect loop. While no
target's lookups find anything, the loop does nothing else: it sleeps, sends the same request
bytes and reads the answers into one buffer (`watch`), since every wake costs CPU. What the
tables cannot show (a NAT redirect on loopback, a container published without its proxy)
is caught by a round that dials every address at least every CONFIRM_EVERY seconds, and
wherever sock_diag is unavailable every round dials. An open target is ready the moment one
address connects (and, with an HTTP expectation, answers a GET with the wanted status); a
`closed` target is ready after a round in which no address connected.
"""

from __future__ import annotations

import errno
import selectors
import socket
import time
from collections.abc import Sequence

from portside._typing import NamedTuple
from portside.model import TcpOutcome
from portside.net.addresses import AddressKind, Target, classify
from portside.net.resolve import dial_addresses
from portside.net.sockdiag import Lookups, SockDiag
from portside.probing.dialling import dial, tcp_outcome

INTERVAL = 0.003
CONFIRM_EVERY = 0.1
LOOPBACK_INDEX = 1  # the loopback device's interface index: a loopback connect arrives there
ATTEMPT_TIMEOUT = 1.0


class HttpExpectation(NamedTuple):
    """The statuses an HTTP GET must answer with: one code, or any 2xx/3xx when `status` is None."""

    status: int | None = None

    def accepts(self, status: int) -> bool:
        return status == self.status if self.status is not None else 200 <= status < 400

    def __str__(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else "HTTP 2xx/3xx"


class Waited(NamedTuple):
    """How one target ended: ready or not, through which address, after how long, and what each address said.

    `seen` holds each address's last `TcpOutcome`, or with an HTTP expectation its answer ("HTTP 200").
    """

    text: str
    ready: bool
    address: str | None
    elapsed: float
    seen: dict[str, str]


class _Target:
    """One target's addresses, what each said last, and the attempts under way."""

    def __init__(self, text: str, target: Target) -> None:
        self.text = text
        self.target = target
        self.addresses = dial_addresses(target)
        self.seen: dict[str, str] = {}
        self.ready_at: float | None = None
        self.address: str | None = None
        self.next_round = 0.0
        self.next_dial_all = 0.0
        self.round_began = 0.0
        self.in_flight: dict[str, socket.socket] = {}
        # The loopback addresses, looked up in the kernel's tables before they are dialled.
        self.looked_up = [address for address in self.addresses if _lookable(address)]
        self.requests: list[bytes] = []
        self.lookups: Lookups | None = None
        # The last round dialled nothing: the tables held no listener on any address.
        self.quiet = False


def _lookable(address: str) -> bool:
    """Whether `address` is looked up before it is dialled: plain loopback (127/8, ::1), neither zoned nor mapped."""
    plain = "%" not in address and not address.startswith("::ffff:")
    return plain and classify(address) is AddressKind.LOOPBACK


def _settled(sock: socket.socket, code: int) -> int | None:
    """The outcome of a non-blocking connect if already known, else None.

    On loopback the handshake (or the RST) happens inside connect() itself, so most
    attempts are decided here without a trip through the selector.
    """
    if code not in (errno.EINPROGRESS, errno.EAGAIN):
        return code
    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if error:
        return int(error)
    try:
        sock.getpeername()
    except OSError:
        return None
    return 0


def _http_status(sock: socket.socket, target: Target, address: str, timeout: float) -> str:
    """GET the target's path on a connected socket; the answer as 'HTTP 200' or what went wrong."""
    from portside.probing.fingerprints import Http, unverified_context  # with --http only: they import ssl

    sock.setblocking(True)
    sock.settimeout(timeout)
    conversation: socket.socket = sock
    http = Http.to(target, address)
    try:
        if target.secure:
            conversation = unverified_context(["http/1.1"]).wrap_socket(sock, server_hostname=target.host)
        conversation.sendall(http.opening())
        data = b""
        while True:
            chunk = conversation.recv(4096)
            if not chunk:
                return "closed without an HTTP answer"
            data += chunk
            verdict = http.feed(data)
            if verdict is not None:
                return f"HTTP {verdict.details['status']}" if verdict.protocol else "answered, but not HTTP"
    except TimeoutError:
        return "no HTTP answer in time"
    except OSError as error:
        return f"HTTP failed: {error.strerror or error}"
    finally:
        conversation.close()


# Linux sets non-blocking mode in socket() itself, saving a syscall per dial; elsewhere setblocking does it.
NONBLOCK: int = getattr(socket, "SOCK_NONBLOCK", 0)


class _Waiter:
    """The dialling loop: rounds of non-blocking connects, watched by one selector."""

    def __init__(self, closed: bool, http: HttpExpectation | None, interval: float, deadline: float | None) -> None:
        self.closed = closed
        self.http = http
        self.interval = interval
        self.deadline = deadline
        self.selector = selectors.DefaultSelector()
        self.diag: SockDiag | None = None
        if not closed:
            try:
                self.diag = SockDiag()
            except OSError:  # not Linux, or netlink refused (a sandbox): every round dials
                self.diag = None

    def run(self, items: list[_Target]) -> None:
        try:
            while True:
                now = time.monotonic()
                waiting = [item for item in items if item.ready_at is None]
                if not waiting or (self.deadline is not None and now >= self.deadline):
                    return
                for item in waiting:
                    if not item.in_flight and now >= item.next_round:
                        self.start_round(item, now)
                waiting = [item for item in waiting if item.ready_at is None]
                if not waiting:
                    return
                if self.diag is not None and all(item.quiet for item in waiting):
                    self.watch(self.diag, waiting)
                    continue
                wakes = [item.next_round for item in waiting if not item.in_flight]
                wakes += [item.round_began + ATTEMPT_TIMEOUT for item in waiting if item.in_flight]
                if self.deadline is not None:
                    wakes.append(self.deadline)
                pause = max(0.0, min(wakes, default=now) - time.monotonic())
                if not self.selector.get_map():  # nothing in flight: a sleep costs a third of an empty select
                    time.sleep(pause)
                    continue
                for key, _ in self.selector.select(pause):
                    item, address = key.data
                    sock = item.in_flight.pop(address, None)
                    if sock is None:
                        continue  # dropped earlier in this batch: its target is decided
                    self.selector.unregister(sock)
                    self.finish(item, address, sock, tcp_outcome(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
                self.expire(waiting, time.monotonic())
        finally:
            for item in items:
                self.drop(item)
            self.selector.close()
            if self.diag is not None:
                self.diag.close()

    def absent(self, item: _Target) -> set[str]:
        """The loopback addresses of `item` where the kernel's tables hold no listener (none without sock_diag)."""
        if self.diag is None or not item.looked_up:
            return set()
        try:
            if item.lookups is None:
                item.requests = [self.diag.request(address, item.target.port, interface=LOOPBACK_INDEX)
                                 for address in item.looked_up]
                item.lookups = self.diag.lookups(item.requests)
            found = item.lookups.found()
        except OSError:
            self.lose_diag()
            return set()
        return {address for address, there in zip(item.looked_up, found, strict=True) if not there}

    def lose_diag(self) -> None:
        """sock_diag failed: from now on every round dials."""
        if self.diag is not None:
            self.diag.close()
        self.diag = None

    def watch(self, diag: SockDiag, items: list[_Target]) -> None:
        """Rounds of lookups alone while every target is quiet, until one finds a listener, a round must dial
        every address, or the deadline: per round a sleep, one netlink exchange and nothing else."""
        until = min(item.next_dial_all for item in items)
        if self.deadline is not None:
            until = min(until, self.deadline)
        next_round = min(item.next_round for item in items)
        try:
            found = diag.lookups([request for item in items for request in item.requests]).found
            while next_round < until:
                time.sleep(max(0.0, next_round - time.monotonic()))
                now = time.monotonic()
                if any(found()):
                    next_round = now  # a round now: it looks again and dials what is there
                    break
                next_round = now + self.interval
        except OSError:
            self.lose_diag()
        for item in items:
            item.next_round = next_round
            item.quiet = False

    def start_round(self, item: _Target, now: float) -> None:
        item.next_round = now + self.interval
        item.round_began = now
        absent: set[str] = set()
        if now >= item.next_dial_all:
            item.next_dial_all = now + CONFIRM_EVERY
        else:
            absent = self.absent(item)
        item.quiet = len(absent) == len(item.addresses)
        for address in item.addresses:
            if address in absent:
                if item.seen.get(address, TcpOutcome.REFUSED) == TcpOutcome.REFUSED:
                    item.seen[address] = TcpOutcome.REFUSED  # what a connect would have met; else the last dial's
                continue
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM | NONBLOCK)
            if not NONBLOCK:
                sock.setblocking(False)
            code = _settled(sock, dial(sock, address, item.target.port))
            if code is None:
                self.selector.register(sock, selectors.EVENT_WRITE, (item, address))
                item.in_flight[address] = sock
            else:
                self.finish(item, address, sock, tcp_outcome(code))
            if item.ready_at is not None:
                return

    def finish(self, item: _Target, address: str, sock: socket.socket, tcp: TcpOutcome) -> None:
        """Record one attempt's outcome and decide the target if it can be decided now."""
        outcome: str = tcp
        if tcp is TcpOutcome.CONNECTED and self.http is not None and not self.closed:
            left = ATTEMPT_TIMEOUT if self.deadline is None else self.deadline - time.monotonic()
            outcome = _http_status(sock, item.target, address, max(0.05, min(ATTEMPT_TIMEOUT, left)))
        else:
            sock.close()
        item.seen[address] = outcome
        if item.ready_at is not None:
            return
        if self.closed:
            if not item.in_flight and all(item.seen.get(each) != TcpOutcome.CONNECTED for each in item.addresses):
                item.ready_at = time.monotonic()
        elif self._hit(outcome):
            item.ready_at = time.monotonic()
            item.address = address
            self.drop(item)

    def _hit(self, outcome: str) -> bool:
        if self.http is None:
            return outcome == TcpOutcome.CONNECTED
        status = outcome.removeprefix("HTTP ")  # a status, or "failed: ..." when the exchange broke off
        return status.isdigit() and self.http.accepts(int(status))

    def expire(self, items: list[_Target], now: float) -> None:
        for item in items:
            if item.in_flight and now - item.round_began >= ATTEMPT_TIMEOUT:
                for address in list(item.in_flight):
                    item.seen[address] = TcpOutcome.TIMEOUT
                self.drop(item)

    def drop(self, item: _Target) -> None:
        for sock in item.in_flight.values():
            self.selector.unregister(sock)
            sock.close()
        item.in_flight.clear()


def wait_for(
    targets: Sequence[tuple[str, Target]],
    *,
    timeout: float | None,
    closed: bool = False,
    http: HttpExpectation | None = None,
    interval: float = INTERVAL,
) -> list[Waited]:
    """Dial `targets` (text as typed, parsed target) until all are ready or `timeout` seconds pass."""
    items = [_Target(text, target) for text, target in targets]
    began = time.monotonic()
    _Waiter(closed, http, interval, began + timeout if timeout is not None else None).run(items)
    ended = time.monotonic()
    return [
        Waited(item.text, item.ready_at is not None, item.address, (item.ready_at or ended) - began, item.seen)
        for item in items
    ]


def describe(waited: Waited) -> str:
    """What each address said last, e.g. '::1 refused, 127.0.0.1 refused'."""
    return ", ".join(f"{address} {outcome}" for address, outcome in waited.seen.items()) or "no attempt finished"
