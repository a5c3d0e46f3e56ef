"""Where a packet from "any other machine" may come from, split by the firewall's source-address matches. Pure.

A rule such as `ip saddr 192.0.2.0/24 accept` holds for some senders and not for others, so
one verdict cannot stand for every source. The networks named by every source-address match
of one IP version split the address space into classes whose members every such match treats
alike (prefixes and ranges nest or are apart, so each class starts at a network's first
address, just past one, or at the edge of the space); each class is followed through the
firewall once, with a sample address of it, and named as a person reads it
(`192.0.2.0/24`, `10.0.0.0/8 except 10.1.0.0/16`, `any other source except 192.0.2.0/24`).
Loopback, unspecified and multicast senders cannot arrive from another machine and are left out.
"""

from __future__ import annotations

import functools
import ipaddress

from portside._typing import NamedTuple
from portside.auditing.chains import Chain
from portside.auditing.reach import networks

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Source(NamedTuple):
    """A class of senders: `sample` is one of them (None: the rules never ask), `label` names the class."""

    sample: str | None
    label: str


ANY = Source(None, "")


def _named(chains: tuple[Chain, ...], version: int) -> set[Network]:
    found: set[Network] = set()
    for chain in chains:
        for rule in chain.rules:
            for match in rule.matches:
                if match.field == "saddr" and match.version in (None, version):
                    for value in match.values:
                        found.update(n for n in networks(value) or () if n.version == version)
    return found


def _candidates(named: set[Network], version: int) -> set[Address]:
    top = (1 << (32 if version == 4 else 128)) - 1
    points = {1, top - 1}
    for network in named:
        first, last = int(network.network_address), int(network.broadcast_address)
        points.update(p for p in (first, last, first - 1, last + 1) if 0 <= p <= top)
    made = (ipaddress.ip_address(p) if version == 4 else ipaddress.IPv6Address(p) for p in points)
    return {a for a in made if not (a.is_loopback or a.is_unspecified or a.is_multicast
                                    or (version == 4 and int(a) == top))}


def _label(inside: frozenset[Network], named: set[Network]) -> str:
    innermost = max(inside, key=lambda n: n.prefixlen) if inside else None
    holes = [n for n in named if n not in inside and (innermost is None or n.subnet_of(innermost))]  # type: ignore[arg-type]
    outermost = sorted((n for n in holes if not any(n != o and n.subnet_of(o) for o in holes)),  # type: ignore[arg-type]
                       key=lambda n: (int(n.network_address), n.prefixlen))
    head = str(innermost) if innermost is not None else "any other source"
    return head + (" except " + ", ".join(map(str, outermost)) if outermost else "")


@functools.lru_cache(maxsize=8)  # one ruleset serves every listener of an audit
def source_classes(chains: tuple[Chain, ...], version: int) -> tuple[Source, ...]:
    """The classes of IPv`version` senders the firewall's source matches tell apart (ANY when none asks)."""
    named = _named(chains, version)
    if not named:
        return (ANY,)
    classes: dict[frozenset[Network], Address] = {}
    for candidate in sorted(_candidates(named, version)):
        inside = frozenset(n for n in named if candidate in n)
        classes.setdefault(inside, candidate)
    return tuple(Source(str(sample), _label(inside, named)) for inside, sample in  # "any other source" last
                 sorted(classes.items(), key=lambda item: (not item[0], item[1])))
