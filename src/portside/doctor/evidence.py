"""Gather what `doctor` judges: what each address says, and what the machine says about why.

The adapters' side of judge.py (which stays pure): everything here reads the machine.
For a target the checks run side by side — the dials, the resolver, /etc/hosts, the
listeners here (with their containers), the stopped containers that publish the port —
so a run that meets dropped packets still ends within about two seconds. What explains
only a failed connection (the firewall's rules, the listeners in other network
namespaces) is read beside the rest as soon as a dial times out or is still under way
after EARLY (a refusal waits for the listeners here, which may explain it), and kept only when the listeners here do not explain the dials: a healthy target
costs its dials and one socket table, not a walk of every process's namespace and a run
of `nft`. Reads still under way GRACE after the budget are left out with a note.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

from portside._typing import TYPE_CHECKING
from portside.doctor.firewall import FirewallRule
from portside.doctor.hostsfile import answers_localhost_names, mapped_to, parse_hosts
from portside.doctor.judge import Exchange, ListenEvidence, TargetEvidence
from portside.doctor.proxyenv import proxy_route
from portside.errors import InventoryError
from portside.inventory import inventory, listeners_elsewhere, process_state, tcp_sockets_in
from portside.inventory.match import accepts, matching
from portside.leasing import kernel_ports, unprivileged_port_start
from portside.model import ConnectionState, Container, ForeignListener, Listener, ProcessInfo, Protocol, TcpOutcome
from portside.net.addresses import AddressKind, Target, classify
from portside.net.resolve import addresses_of, dial_addresses, resolver_order
from portside.probing.dialling import CONNECT_TIMEOUT

if TYPE_CHECKING:
    from typing import Any

HOSTS = "/etc/hosts"
NSSWITCH = "/etc/nsswitch.conf"
BUDGET = 2.2
EARLY = 0.05  # a healthy loopback dial has ended well within this; past it, what explains a failure is read beside
GRACE = 0.5  # how long past BUDGET the reads that explain a failure may take before they are left out (a note)
STOPPED = ("T", "t")


class _Beside(threading.Thread):
    """One piece of evidence gathered in a thread of its own; a daemon, so a stuck read never holds the exit.

    (concurrent.futures would do, but it imports logging: 7 ms of every doctor run.)
    """

    def __init__(self, work: Callable[..., Any], *args: object) -> None:
        super().__init__(daemon=True)
        self._work, self._args = work, args
        self._value: Any = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._value = self._work(*self._args)
        except BaseException as error:  # noqa: BLE001 -- re-raised by result(), in the caller's thread
            self._error = error

    def result(self) -> Any:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def time_wait_count(port: int) -> int:
    """How many TCP sockets in TIME_WAIT have `port` as their local port (0 where netlink is unavailable)."""
    try:
        found = tcp_sockets_in(ConnectionState.TIME_WAIT)
    except InventoryError:
        return 0
    return sum(1 for raw in found if raw.local.port == port)


def listen_evidence(port: int) -> ListenEvidence:
    """What stands between a server and binding TCP `port` on this machine."""
    return ListenEvidence(
        port=port,
        holders=matching(inventory(protocols=(Protocol.TCP,)).listeners, port, None),
        time_wait=time_wait_count(port),
        ephemeral=kernel_ports().ephemeral,
        unprivileged_start=unprivileged_port_start(),
        root=hasattr(os, "geteuid") and os.geteuid() == 0,
    )


def _resolved(name: str, port: int) -> tuple[tuple[str, ...], str | None]:
    """getaddrinfo's answer for `name`, or why it gave none."""
    try:
        return resolver_order(name, port), None
    except socket.gaierror as error:
        return (), error.strerror


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as text:
            return text.read()
    except OSError:
        return None


def _hosts_mapping(name: str | None) -> tuple[tuple[str, ...] | None, bool]:
    """What /etc/hosts maps `name` to (None: unreadable), and whether NSS answers *.localhost names itself."""
    hosts = _read(HOSTS)
    mapped = mapped_to(parse_hosts(hosts), name) if hosts is not None and name else None
    return mapped, answers_localhost_names(_read(NSSWITCH) or "")


def _listeners(port: int) -> tuple[tuple[Listener, ...], tuple[ProcessInfo, ...]]:
    """The TCP listeners on `port`, and those of their owners that are stopped (SIGSTOP, a debugger)."""
    found = matching(inventory(protocols=(Protocol.TCP,)).listeners, port, None)
    owners = {p.pid: p for lst in found for p in lst.processes}.values()
    return found, tuple(p for p in owners if process_state(p.pid) in STOPPED)


def _client_name(target: Target) -> str | None:
    """The name a client resolves: the host typed, `localhost` for a bare port, None for an address."""
    if target.host is None:
        return "localhost"
    return target.name.rstrip(".") if target.name else None


def _explained(exchanges: tuple[Exchange, ...], listeners: tuple[Listener, ...]) -> bool:
    """Whether the listeners here explain every dial: one connected, and any refused address is one they do not bind
    (`localhost` on ::1 beside a server on 127.0.0.1 only). A timeout, or a refusal where a listener binds, is not."""
    return any(e.tcp is TcpOutcome.CONNECTED for e in exchanges) and all(
        e.tcp is TcpOutcome.CONNECTED
        or (e.tcp is TcpOutcome.REFUSED and not any(accepts(lst, e.address) for lst in listeners))
        for e in exchanges
    )


def _unexplained(target: Target) -> tuple[tuple[FirewallRule, ...], tuple[str, ...], tuple[ForeignListener, ...],
                                          bool]:
    """What explains a failed dial: the firewall's rules (and notes) and the listeners in other namespaces."""
    from portside.doctor._ruleset import ruleset

    foreign = _Beside(listeners_elsewhere, target.port)
    read = ruleset()
    elsewhere, complete = foreign.result()
    return read.rules, read.notes, elsewhere, complete


def _answered(dials: list[_Beside]) -> bool:
    """Every dial has ended, connected or refused: the listeners here may explain them (a timeout they never do)."""
    return all(not dial.is_alive() and dial.result().tcp in (TcpOutcome.CONNECTED, TcpOutcome.REFUSED)
               for dial in dials)


def target_evidence(target: Target, environ: Mapping[str, str]) -> TargetEvidence:
    """Dial the target as its clients would, and gather what explains the outcome; bounded to ~BUDGET seconds."""
    from portside.containers import stopped_publishing
    from portside.doctor._dial import exchange

    began = time.monotonic()
    deadline = began + BUDGET
    name = _client_name(target)
    # Other names go through the resolver first (an unknown name is a usage error); localhost is dialled on
    # both loopbacks while getaddrinfo's own order is read beside it; *.localhost is loopback, and is resolved
    # only when the hosts file or an NSS module answers it (never asked of DNS).
    dialled = addresses_of(target) if name not in (None, "localhost") else None
    resolved = None if target.is_loopback_name else dialled
    addresses = dialled or dial_addresses(target)
    dials = [_Beside(exchange, a, target, deadline) for a in addresses]
    resolving = _Beside(_resolved, "localhost", target.port) if name == "localhost" else None
    listening = _Beside(_listeners, target.port)
    parked = _Beside(stopped_publishing, target.port)  # a stopped container's port is news even when another answers
    mapped, nss_localhost = _hosts_mapping(name)
    if resolving is None and name is not None and target.is_loopback_name and (mapped or nss_localhost):
        resolving = _Beside(_resolved, name, target.port)  # answered by the hosts file or NSS, not DNS
    for dial in dials:
        dial.join(max(0.0, began + EARLY - time.monotonic()))
    # A dial still under way by now, or one that met no answer: read what would explain it beside the rest.
    slow = None if _answered(dials) else _Beside(_unexplained, target)
    resolved, error = resolving.result() if resolving is not None else (resolved, None)
    extra = [a for a in resolved or () if a not in addresses and classify(a) is AddressKind.LOOPBACK]
    dials.extend(_Beside(exchange, a, target, deadline) for a in extra)
    exchanges: tuple[Exchange, ...] = tuple(dial.result() for dial in dials)
    found, stopped = listening.result()
    if slow is None and not _explained(exchanges, found):
        slow = _Beside(_unexplained, target)
    rules: tuple[FirewallRule, ...] = ()
    notes: tuple[str, ...] = ()
    elsewhere: tuple[ForeignListener, ...] = ()
    complete = True
    if slow is not None and not _explained(exchanges, found):
        slow.join(max(0.0, deadline + GRACE - time.monotonic()))
        if slow.is_alive():
            notes = ("the firewall and the other network namespaces could not be read in time",)
        else:
            rules, notes, elsewhere, complete = slow.result()
    parked.join(max(0.0, deadline + GRACE - time.monotonic()))
    idle: tuple[Container, ...] = () if parked.is_alive() else parked.result()
    notes += () if complete else ("some processes' network namespaces were not readable",)
    route_host = name or target.address or "localhost"
    return TargetEvidence(
        target=target, name=name, resolved=resolved, resolve_error=error,
        hosts_mapped=mapped, nss_localhost=nss_localhost, exchanges=exchanges, listeners=found, stopped=stopped,
        elsewhere=elsewhere, rules=rules, notes=notes,
        proxy=proxy_route(target.scheme or "http", route_host, target.port, environ),
        connect_timeout=CONNECT_TIMEOUT, stopped_containers=idle,
    )
