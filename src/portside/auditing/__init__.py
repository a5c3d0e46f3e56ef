"""`audit()`: which listeners other machines can reach, what they are, and whether the policy allows it.

Adapters read the listeners, the interface addresses and the firewall; the pure core
(chains, reach, verdicts, risks, policy) judges; front ends render `AuditReport`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from datetime import UTC, datetime

from portside._typing import NamedTuple
from portside.auditing.chains import Chain
from portside.auditing.policy import Policy, allows
from portside.auditing.reach import Fate
from portside.auditing.risks import risks
from portside.auditing.verdicts import Reachability, Verdict, destinations, judge, predict
from portside.model import Finding, InterfaceAddress, Listener, Protocol, Severity


class Check(NamedTuple):
    """`--verify`: a connect to `address` from portside's own namespace, predicted beside measured."""

    address: str
    predicted: Fate
    measured: str  # connected, refused, timeout, unreachable

    @property
    def agrees(self) -> bool:
        expected = {Fate.ACCEPT: ("connected",), Fate.DROP: ("timeout",), Fate.REJECT: ("refused", "unreachable")}
        return self.predicted is Fate.UNKNOWN or self.measured in expected[self.predicted]


class AuditEntry(NamedTuple):
    listener: Listener
    reachability: Reachability
    allowed: bool
    findings: tuple[Finding, ...]
    checks: tuple[Check, ...] = ()

    @property
    def violation(self) -> bool:
        reached = any(check.measured == "connected" for check in self.checks)
        return (self.reachability.verdict is Verdict.REACHABLE or reached) and not self.allowed


def _unexpose(listener: Listener) -> str:
    container = listener.container
    if container is not None:
        inside = container.container_port or listener.port
        return f"publish it on loopback only: -p 127.0.0.1:{listener.port}:{inside} (or allow it in portside.toml)"
    return (f"bind it to 127.0.0.1, or drop it: nft add rule inet filter input tcp dport {listener.port} drop "
            "(or allow it in portside.toml: [[allow]] port = " + str(listener.port) + ")")


def findings_of(entry: AuditEntry) -> tuple[Finding, ...]:
    """The audit's own findings for `entry` (violation, unknown) followed by its risk findings."""
    where = f"{entry.listener.address}:{entry.listener.port}"
    own = []
    if entry.violation:
        own.append(Finding("reachable-not-allowed", Severity.FAULT, f"{where} is reachable ({entry.reachability.reason})",
                           _unexpose(entry.listener)))
    elif entry.reachability.verdict is Verdict.UNKNOWN:
        own.append(Finding("reachability-unknown", Severity.WARNING, f"{where}: {entry.reachability.reason}",
                           "run portside audit as root, or simplify the rule named"))
    own.extend(Finding("verify-mismatch", Severity.FAULT, f"{check.address}:{entry.listener.port}: predicted "
                       f"{check.predicted.value}, but a connect from outside was {check.measured}",
                       "report it: portside's reading of the firewall is wrong here")
               for check in entry.checks if not check.agrees)
    return (*own, *entry.findings)


class AuditReport(NamedTuple):
    entries: tuple[AuditEntry, ...]
    notes: tuple[str, ...]

    @property
    def violations(self) -> tuple[AuditEntry, ...]:
        return tuple(entry for entry in self.entries if entry.violation)


def _interfaces() -> tuple[InterfaceAddress, ...]:
    from portside.inventory._linux import interfaces

    return interfaces(dict(socket.if_nameindex()))


def _heard(listener: Listener, addresses: tuple[InterfaceAddress, ...]) -> tuple[str | None, dict[str, object]]:
    """What `probe` names at the listener; for MongoDB, also whether it runs a command for a client that never
    logged in (asked on one of its non-loopback addresses, where MongoDB's localhost exception does not apply)."""
    from portside.net.addresses import host_port, parse_target
    from portside.probing.fingerprints import MongoAuth
    from portside.probing.runner import REPLY_WAIT, converse, probe

    host = "127.0.0.1" if listener.address in ("0.0.0.0", "::") else listener.address
    for attempt in probe(parse_target(host_port(host, listener.port))):
        if attempt.protocol == "mongodb":
            outside = sorted((a.address for a in destinations(listener, addresses)), key=lambda a: ":" in a)
            outside = outside or [attempt.address]
            verdict, _ = converse(outside[0], listener.port, MongoAuth(), REPLY_WAIT)
            return attempt.protocol, {**attempt.details, **verdict.details}
        if attempt.protocol is not None:
            return attempt.protocol, attempt.details
    return None, {}


def evaluate(listeners: tuple[Listener, ...], addresses: tuple[InterfaceAddress, ...],
             chains: tuple[Chain, ...] | None, unread: str, policy: Policy,
             heard: dict[int, tuple[str | None, dict[str, object]]],
             routes: Mapping[str, str] | None = None, now: datetime | None = None) -> tuple[AuditEntry, ...]:
    """The audit of `listeners` given what was read (pure): verdicts, policy and risks (certificates judged at
    `now`, default the present)."""
    when = now or datetime.now(UTC)
    entries = []
    for listener in listeners:
        reach = judge(listener, addresses, chains, unread, routes)
        names = tuple(p.name for p in listener.processes)
        container = listener.container.name if listener.container is not None else None
        via = tuple(sorted({p.interface for p in reach.paths if p.outcome.fate.value == "accept"}))
        allowed = any(allows(entry, listener.port, names, container, via) for entry in policy.allow)
        protocol, details = heard.get(listener.port, (None, {}))
        findings = risks(listener, protocol, details, when) if reach.verdict is not Verdict.LOCAL else ()
        entries.append(AuditEntry(listener, reach, allowed, findings))
    return tuple(entries)


def _dialled(entry: AuditEntry, addresses: tuple[InterfaceAddress, ...]) -> tuple[InterfaceAddress, ...]:
    """The addresses `--verify` dials for `entry`: not a link-local one, which only its own link can reach."""
    if entry.reachability.verdict is Verdict.LOCAL:
        return ()
    return tuple(t for t in destinations(entry.listener, addresses) if not ipaddress.ip_address(t.address).is_link_local)


def verified(entries: tuple[AuditEntry, ...], addresses: tuple[InterfaceAddress, ...],
             chains: tuple[Chain, ...] | None, routes: Mapping[str, str]) -> tuple[AuditEntry, ...]:
    """`entries` with `checks`: each exposed listener dialled on each of its addresses from a namespace of our own
    (whose sender address the prediction is made for)."""
    from portside.auditing._verify import INSIDE4, INSIDE6, dial_from_outside

    targets = [(target.address, entry.listener.port) for entry in entries for target in _dialled(entry, addresses)]
    if not targets:
        return entries
    interface, measured = dial_from_outside(sorted(set(targets)))
    checked = []
    for entry in entries:
        checks = tuple(
            Check(target.address, predict(entry.listener, target.address, interface, chains, routes,
                                          INSIDE6 if ":" in target.address else INSIDE4).fate
                  if chains is not None else Fate.UNKNOWN, measured[(target.address, entry.listener.port)])
            for target in _dialled(entry, addresses)
        )
        checked.append(entry._replace(checks=checks))
    return tuple(checked)


def audit(policy: Policy | None = None, *, probe: bool = False, verify: bool = False) -> AuditReport:
    """Audit every TCP listener of this network namespace against `policy` (None: nothing beyond loopback)."""
    from portside.auditing._firewall import read_chains
    from portside.auditing._route import out_interface
    from portside.inventory import inventory

    found = inventory(protocols=(Protocol.TCP,))
    listeners = tuple(sorted(found.listeners, key=lambda item: (item.port, item.address)))
    chains, unread = read_chains()
    addresses = _interfaces()
    heard: dict[int, tuple[str | None, dict[str, object]]] = {}
    if probe:
        for listener in listeners:
            if judge(listener, addresses, chains, unread).verdict is not Verdict.LOCAL:
                heard[listener.port] = _heard(listener, addresses)
    routes = {}
    for listener in listeners:
        inside = listener.container.container_address if listener.container is not None else None
        if inside and (device := out_interface(inside)) is not None:
            routes[inside] = device
    notes = (*found.notes, *([unread] if unread else []))
    entries = evaluate(listeners, addresses, chains, unread, policy or Policy(), heard, routes)
    return AuditReport(verified(entries, addresses, chains, routes) if verify else entries, notes)
