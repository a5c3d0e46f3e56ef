"""Follow one new TCP connection through the firewall's chains and say what happens to it. Pure.

A packet from another machine meets, in priority order, every base chain of the hooks on
its path (prerouting then input for a host socket; prerouting then forward for a port
DNAT'd to a container). In each chain the first rule whose matches all hold decides:
accept ends that chain (the next base chain still sees the packet), drop and reject end
the path, jump/goto enter a regular chain, return leaves one; falling off a base chain
applies its policy. The path begins at the netdev ingress chains bound to the arriving
interface. A source address is tested when the packet names one (sources.py gives a sample
of each class of sender). A match portside cannot evaluate (a mark, an unknown expression,
a source when none is given) makes the answer `unknown` if that rule could decide, never a guess.
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
from enum import StrEnum

from portside._typing import NamedTuple
from portside.auditing.chains import Chain, Match, Rule


class Fate(StrEnum):
    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"
    UNKNOWN = "unknown"


class Packet(NamedTuple):
    """A new TCP connection arriving on `iif` for `daddr`:`dport` (`oif` set on the forward path) from `saddr`
    (None: a source not known, so a source-address match cannot be told)."""

    daddr: str
    dport: int
    iif: str
    oif: str | None = None
    dnat: bool = False
    saddr: str | None = None


class Outcome(NamedTuple):
    fate: Fate
    rule: Rule | None = None
    chain: Chain | None = None
    reason: str = ""

    def said(self) -> str:
        """The rule or policy that decided, as a person reads it (for `unknown`, why it could not be told)."""
        if self.fate is Fate.UNKNOWN and self.reason:
            return self.reason
        if self.rule is not None:
            return f"{self.rule.location}: {self.rule.text}"
        if self.chain is not None:
            return f"{self.chain.location}: policy {self.chain.policy}"
        return self.reason


# A ruleset of hundreds of rules is walked for every listener, interface and sender class: the few distinct
# values in it (ports, prefixes, addresses) are parsed once each.
@functools.lru_cache(maxsize=8192)
def _port_range(value: str) -> tuple[int, int] | None:
    low, _, high = value.partition("-" if "-" in value else ":")
    if not low.isdigit() or (high and not high.isdigit()):
        return None
    return int(low), int(high or low)


def _port_in(value: str, port: int) -> bool | None:
    found = _port_range(value)
    return None if found is None else found[0] <= port <= found[1]


@functools.lru_cache(maxsize=8192)
def networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None:
    """An address, prefix or range (`10.0.0.1-10.0.0.9`) as networks; None when it is none of these."""
    try:
        if "-" in value:
            low, high = (ipaddress.ip_address(part.strip()) for part in value.split("-", 1))
            return tuple(ipaddress.summarize_address_range(low, high))
        return (ipaddress.ip_network(value, strict=False),)
    except (ValueError, TypeError):
        return None


_ip = functools.lru_cache(maxsize=8192)(ipaddress.ip_address)


def _address_in(value: str, address: str) -> bool | None:
    found = networks(value)
    if found is None:
        return None
    ip = _ip(address)
    return any(ip in network for network in found)


def _any(results: list[bool | None]) -> bool | None:
    return True if True in results else (None if None in results else False)


def holds(match: Match, packet: Packet) -> bool | None:
    """True, False, or None when this match cannot be evaluated for `packet`."""
    found: bool | None
    if match.field == "dport":
        found = _any([_port_in(value, packet.dport) for value in match.values])
    elif match.field == "daddr":
        found = _any([_address_in(value, packet.daddr) for value in match.values])
    elif match.field == "saddr":
        found = None if packet.saddr is None else _any([_address_in(value, packet.saddr) for value in match.values])
    elif match.field == "iif":
        found = any(fnmatch.fnmatchcase(packet.iif, value.replace("\\*", "*")) for value in match.values)
    elif match.field == "oif":
        found = None if packet.oif is None else any(fnmatch.fnmatchcase(packet.oif, v) for v in match.values)
    elif match.field == "ct":
        states = set(match.values)
        found = "new" in states or (None if states - {"new", "established", "related", "invalid", "untracked"} else False)
    elif match.field == "l4":
        found = bool({"tcp", "6"} & set(match.values))
    else:
        return None
    return None if found is None else found != match.negated


def _rule_holds(rule: Rule, packet: Packet, families: frozenset[int]) -> bool | None:
    """All of `rule`'s matches hold (True), one fails (False), or one cannot be told and none fails (None).
    Stops at the first failing match: in a long ruleset most rules fail on their port."""
    version = _ip(packet.daddr).version
    if version not in families or any(m.version is not None and m.version != version for m in rule.matches):
        return False
    told = not rule.unread
    for match in rule.matches:
        held = holds(match, packet)
        if held is False:
            return False
        told = told and held is not None
    return True if told else None


def _walk(chain: Chain, chains: dict[tuple[str, str, str], Chain], packet: Packet, depth: int = 0) -> Outcome | None:
    """The verdict `chain` gives (None: it returned or fell through without one)."""
    if depth > 32:
        return Outcome(Fate.UNKNOWN, reason=f"jumps nest deeper than 32 chains from {chain.location}")
    for rule in chain.rules:
        if rule.verdict is None:
            if " vmap " in f" {rule.text} " and _rule_holds(rule, packet, chain.families) is not False:
                return Outcome(Fate.UNKNOWN, rule, chain, f"{rule.location}: portside cannot evaluate the verdict "
                                                          f"map in {rule.text!r}")
            continue
        held = _rule_holds(rule, packet, chain.families)
        if held is False:
            continue
        if held is None:
            what = f"{rule.unread!r} in {rule.text!r}" if rule.unread else repr(rule.text)
            return Outcome(Fate.UNKNOWN, rule, chain, f"{rule.location}: portside cannot evaluate {what}")
        if rule.verdict in ("accept", "drop", "reject"):
            return Outcome(Fate(rule.verdict), rule, chain)
        if rule.verdict == "return":
            return None
        if rule.verdict in ("jump", "goto"):
            called = chains.get((chain.source, chain.table + "/" + chain.family, str(rule.target)))
            if called is None:
                return Outcome(Fate.UNKNOWN, rule, chain, f"{rule.location}: chain {rule.target} was not read")
            result = _walk(called, chains, packet, depth + 1)
            if result is not None or rule.verdict == "goto":
                return result
    return None


def _bridged(chains: tuple[Chain, ...]) -> Outcome | None:
    """Bridge-family chains filter frames bridged to this host; portside does not know which ports are bridged,
    so any that could stop a packet makes the answer unknown rather than a guess."""
    for chain in chains:
        if chain.hook in ("bridge prerouting", "bridge input") and (chain.rules or chain.policy != "accept"):
            return Outcome(Fate.UNKNOWN, None, chain, f"{chain.location}: bridge-family rules are not evaluated "
                                                      "(they see frames bridged to this host)")
    return None


def follow(chains: tuple[Chain, ...], packet: Packet) -> Outcome:
    """What the firewall does with `packet`: the first drop/reject/unknown on its path, else accept.

    The path starts at the netdev ingress chains of the arriving interface (before prerouting)."""
    bridged = _bridged(chains)
    if bridged is not None:
        return bridged
    by_name = {(c.source, c.table + "/" + c.family, c.name): c for c in chains}
    hooks = ("ingress", "prerouting", "forward") if packet.dnat else ("ingress", "prerouting", "input")
    version = ipaddress.ip_address(packet.daddr).version
    path = sorted((c for c in chains if c.hook in hooks and version in c.families
                   and (c.hook != "ingress" or any(fnmatch.fnmatchcase(packet.iif, d) for d in c.devices))),
                  key=lambda c: (hooks.index(str(c.hook)), c.priority))
    last = Outcome(Fate.ACCEPT, reason="no rule on the path stops it")
    for chain in path:
        result = _walk(chain, by_name, packet)
        if result is None:
            if chain.policy != "accept":
                return Outcome(Fate.DROP if chain.policy == "drop" else Fate.UNKNOWN, None, chain)
            continue
        if result.fate is not Fate.ACCEPT:
            return result
        last = result
    return last
