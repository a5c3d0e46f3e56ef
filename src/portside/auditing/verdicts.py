"""Reachability of one listener from other machines: local, reachable, filtered or unknown. Pure.

The addresses a listener answers on (its own, or every address of its family for a
wildcard) are paired with every non-loopback interface a packet can arrive on and, when
rules match source addresses, with each class of sender they tell apart (sources.py); each
is followed through the firewall (reach.py). Accepted from some senders only is `reachable`,
naming them: another machine can connect, and which ones is a matter of who it is. A container's published port is
followed on its DNAT path (prerouting, forward) to the container's address and port, as
the host's input chain never sees it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from enum import StrEnum

from portside._typing import NamedTuple
from portside.auditing.chains import Chain
from portside.auditing.reach import Fate, Outcome, Packet, follow
from portside.auditing.sources import Source, source_classes
from portside.model import Family, InterfaceAddress, Listener


class Verdict(StrEnum):
    LOCAL = "local"
    REACHABLE = "reachable"
    FILTERED = "filtered"
    UNKNOWN = "unknown"


class Path(NamedTuple):
    """A packet arriving on `interface` for `address` from `source` (sources.py; "" for any) and its fate."""

    interface: str
    address: str
    outcome: Outcome
    source: str = ""


class Reachability(NamedTuple):
    verdict: Verdict
    paths: tuple[Path, ...]
    reason: str


def _loopback(address: str) -> bool:
    return ipaddress.ip_address(address.split("%")[0]).is_loopback


def destinations(listener: Listener, addresses: tuple[InterfaceAddress, ...]) -> tuple[InterfaceAddress, ...]:
    """The non-loopback addresses of this machine on which `listener` accepts connections."""
    if listener.address in ("0.0.0.0", "::"):
        families = {listener.family} | ({Family.IPV4} if listener.dual_stack else set())
        return tuple(a for a in addresses if a.family in families and not _loopback(a.address))
    if _loopback(listener.address):
        return ()
    return tuple(a for a in addresses if a.address == listener.address.split("%")[0])


def judge(listener: Listener, addresses: tuple[InterfaceAddress, ...], chains: tuple[Chain, ...] | None,
          unread: str = "", routes: Mapping[str, str] | None = None) -> Reachability:
    """The verdict for `listener`; `chains` None means the firewall could not be read (`unread` says why);
    `routes` names the interface each container address is routed through (the forward path's oif)."""
    targets = destinations(listener, addresses)
    if not targets:
        return Reachability(Verdict.LOCAL, (), "bound to loopback only" if _loopback(listener.address)
                            else "no address of this machine beyond loopback")
    if chains is None:
        return Reachability(Verdict.UNKNOWN, (), unread or "the firewall could not be read")
    interfaces = sorted({a.interface for a in addresses if not _loopback(a.address)})
    classes: dict[int, tuple[Source, ...]] = {}
    paths = []
    for target in targets:
        for interface in interfaces:
            outcome = predict(listener, target.address, interface, chains, routes)
            if outcome.fate is not Fate.UNKNOWN:
                paths.append(Path(interface, target.address, outcome))
                continue
            # Undecided: perhaps only by who sends it. Follow each class of sender the rules tell apart.
            version = ipaddress.ip_address(_arriving(listener, target.address)).version
            if version not in classes:
                classes[version] = source_classes(chains, version)
            paths.extend(Path(interface, target.address, predict(listener, target.address, interface, chains, routes,
                                                                  source.sample), source.label)
                         if source.sample is not None else Path(interface, target.address, outcome)
                         for source in classes[version])
    return _summarise(tuple(paths))


def _arriving(listener: Listener, address: str) -> str:
    """The address a packet for `listener` is filtered with: the container's after DNAT, else `address`."""
    container = listener.container
    if container is not None and container.container_address and container.container_port:
        return container.container_address
    return address


def predict(listener: Listener, address: str, interface: str, chains: tuple[Chain, ...],
            routes: Mapping[str, str] | None = None, source: str | None = None) -> Outcome:
    """What the firewall does with a new connection to `address`:`listener.port` arriving on `interface` from
    `source` (None: any sender)."""
    container = listener.container
    if container is not None and container.container_address and container.container_port:
        packet = Packet(container.container_address, container.container_port, interface,
                        (routes or {}).get(container.container_address), dnat=True, saddr=source)
    else:
        packet = Packet(address, listener.port, interface, saddr=source)
    return follow(chains, packet)


def _summarise(paths: tuple[Path, ...]) -> Reachability:
    fates = {path.outcome.fate for path in paths}
    if Fate.ACCEPT in fates:
        open_: dict[str, list[str]] = {}
        for path in paths:
            if path.outcome.fate is Fate.ACCEPT:
                open_.setdefault(f"{path.address} via {path.interface}", []).append(path.source)
        return Reachability(Verdict.REACHABLE, paths, "accepted: " + ", ".join(
            where + (" from " + " or ".join(dict.fromkeys(sources)) if all(sources) else "")
            for where, sources in open_.items()))
    if Fate.UNKNOWN in fates:
        first = next(p for p in paths if p.outcome.fate is Fate.UNKNOWN)
        return Reachability(Verdict.UNKNOWN, paths, first.outcome.said())
    stops = dict.fromkeys(f"{p.outcome.fate.value} by {p.outcome.said()}" + (f" (from {p.source})" if p.source else "")
                          for p in paths)
    return Reachability(Verdict.FILTERED, paths, "; ".join(stops))
