"""Firewall rules that can stop a TCP connection to an address and port.

Parses what `nft -a list ruleset` and `iptables-legacy-save` print (iptables-nft rules
appear in the nftables listing) into `FirewallRule`s that know which packets they catch,
then picks the drop and reject rules that catch a connection to one address and port.
Only what decides that is understood: table family, `ip`/`ip6 daddr`, `tcp`/`th dport`
(numbers, ranges, anonymous and named sets, `!=`), the input interface, and chain
policies; other conditions (conntrack state, counters, marks) are taken as matching.
Pure: text in, rules out; _ruleset.py runs the tools.
"""

from __future__ import annotations

import ipaddress
import re

from portside._typing import NamedTuple

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Condition(NamedTuple):
    """One test a rule makes: the value must (or, negated, must not) be among `values`."""

    values: tuple[str, ...]
    negated: bool = False


class FirewallRule(NamedTuple):
    """A drop or reject rule (or a chain's drop policy) and the packets it catches.

    `remove` is the command that lifts it; for a policy it holds `PORT` for the port to let through.
    """

    source: str
    location: str
    text: str
    verdict: str
    remove: str
    families: frozenset[int]
    ports: Condition | None = None
    addresses: Condition | None = None
    interface: Condition | None = None
    policy: bool = False


def _port_in(value: str, port: int) -> bool:
    low, _, high = value.partition("-" if "-" in value else ":")
    if not low.isdigit() or (high and not high.isdigit()):
        return False
    return int(low) <= port <= int(high or low)


def _address_in(value: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False


def _holds(condition: Condition | None, test: bool) -> bool:
    return True if condition is None else test != condition.negated


def catches(rule: FirewallRule, address: str, port: int, interface: str | None) -> bool:
    """True when `rule` stops TCP to `address`:`port` arriving on `interface` (None: unknown, assume it does)."""
    version = ipaddress.ip_address(address).version
    if version not in rule.families:
        return False
    ports, addresses, device = rule.ports, rule.addresses, rule.interface
    return (
        _holds(ports, ports is not None and any(_port_in(value, port) for value in ports.values))
        and _holds(addresses, addresses is not None and any(_address_in(v, address) for v in addresses.values))
        and (device is None or interface is None or _holds(device, interface in device.values))
    )


def catching(rules: tuple[FirewallRule, ...], address: str, port: int, interface: str | None) -> tuple[FirewallRule, ...]:
    """The rules that stop this connection, in ruleset order."""
    return tuple(rule for rule in rules if catches(rule, address, port, interface))


# --- nftables -------------------------------------------------------------------------

NFT_FAMILIES = {"ip": frozenset({4}), "ip6": frozenset({6}), "inet": frozenset({4, 6})}
_VALUE = r"(?P<neg>!=\s*)?(?P<value>\{[^}]*\}|@[\w.-]+|\"[^\"]*\"|\S+)"
_PORT = re.compile(r"\b(?P<proto>tcp|th|udp|sctp|dccp)\s+dport\s+" + _VALUE)
_DADDR = re.compile(r"\b(?P<proto>ip6?)\s+daddr\s+" + _VALUE)
_IFACE = re.compile(r"\b(?:iif|iifname)\s+" + _VALUE)
_L4 = re.compile(r"\b(?:meta l4proto|ip protocol|ip6 nexthdr)\s+(?P<proto>\{[^}]*\}|\w+)")
_VERDICT = re.compile(r"\b(drop|reject)\b(?!.*\b(?:accept|jump|goto)\b)")
_HANDLE = re.compile(r"\s*# handle (\d+)\s*$")


def _values(text: str, sets: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if text.startswith("@"):
        return sets.get(text[1:], ())
    text = text.strip("{}").replace('"', "")
    return tuple(part.strip() for part in text.replace(",", " ").split() if part.strip())


def _nft_rule(line: str, family: str, location: str, sets: dict[str, tuple[str, ...]]) -> FirewallRule | None:
    handle = _HANDLE.search(line)
    body = _HANDLE.sub("", line).strip()
    verdict = _VERDICT.search(body)
    if verdict is None or handle is None:
        return None
    families = NFT_FAMILIES[family]
    ports = None
    for match in _PORT.finditer(body):
        if match["proto"] not in ("tcp", "th"):
            return None
        ports = Condition(_values(match["value"], sets), bool(match["neg"]))
    l4 = _L4.search(body)
    if l4 is not None and "tcp" not in l4["proto"]:
        return None
    addresses = None
    for match in _DADDR.finditer(body):
        families = families & frozenset({6 if match["proto"] == "ip6" else 4})
        addresses = Condition(_values(match["value"], sets), bool(match["neg"]))
    interface = None
    for match in _IFACE.finditer(body):
        interface = Condition(_values(match["value"], sets), bool(match["neg"]))
    table, chain = location.split(" chain ")
    return FirewallRule(
        "nftables", location, body, verdict[1], f"nft delete rule {table.removeprefix('table ')} {chain} "
        f"handle {handle[1]}", families, ports, addresses, interface,
    )


def parse_nft(text: str) -> tuple[FirewallRule, ...]:
    """Drop/reject rules and drop policies of `nft -a list ruleset` output (the families that carry IP)."""
    sets: dict[str, tuple[str, ...]] = {}
    pending: list[tuple[str, str, str]] = []
    policies: list[FirewallRule] = []
    family = table = chain = set_name = None
    collecting: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if collecting is not None:
            collecting += " " + line
            if "}" in line:
                sets[set_name or ""] = _values(collecting.split("{", 1)[1].split("}", 1)[0], sets)
                collecting = None
            continue
        if match := re.match(r"table (\w+) (\S+) \{", line):
            family, table, chain, set_name = match[1], match[2], None, None
        elif match := re.match(r"(?:set|map) (\S+) \{", line):
            set_name, chain = match[1], None
        elif match := re.match(r"chain (\S+) \{", line):
            chain, set_name = match[1], None
        elif line.startswith("elements = {") and set_name is not None:
            collecting = line
            if "}" in line:
                sets[set_name] = _values(line.split("{", 1)[1].split("}", 1)[0], sets)
                collecting = None
        elif family in NFT_FAMILIES and chain is not None and line.startswith("type ") and "hook" in line:
            policy = re.search(r"policy (\w+);", line)
            if policy and policy[1] == "drop":
                location = f"table {family} {table} chain {chain}"
                policies.append(FirewallRule(
                    "nftables", location, f"policy drop ({line.rstrip(';')})", "drop",
                    f"nft insert rule {family} {table} {chain} tcp dport PORT accept", NFT_FAMILIES[family],
                    policy=True,
                ))
        elif family in NFT_FAMILIES and chain is not None and line not in ("}", ""):
            pending.append((line, str(family), f"table {family} {table} chain {chain}"))
    rules = [rule for line, fam, where in pending if (rule := _nft_rule(line, fam, where, sets)) is not None]
    return tuple(rules + policies)


# --- iptables-legacy ------------------------------------------------------------------


def _option(tokens: list[str], *names: str) -> Condition | None:
    for index, token in enumerate(tokens):
        if token in names and index + 1 < len(tokens):
            negated = index > 0 and tokens[index - 1] == "!"
            return Condition(tuple(tokens[index + 1].split(",")), negated)
    return None


def parse_iptables_save(text: str, version: int, tool: str) -> tuple[FirewallRule, ...]:
    """DROP/REJECT rules and DROP policies of the filter table in `iptables-save` output for IPv`version`.

    `tool` is the command that manages these rules (iptables-legacy, ip6tables, ...), for the fixes.
    """
    rules = []
    table = ""
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif table == "filter" and line.startswith(":") and line.split()[1:2] == ["DROP"]:
            chain = line[1:].split()[0]
            rules.append(FirewallRule(tool, f"table filter chain {chain}", f":{chain} DROP (policy)", "drop",
                                      f"{tool} -I {chain} -p tcp --dport PORT -j ACCEPT", frozenset({version}),
                                      policy=True))
        elif table == "filter" and line.startswith("-A "):
            tokens = line.split()
            target = _option(tokens, "-j")
            if target is None or target.values[0] not in ("DROP", "REJECT"):
                continue
            protocol = _option(tokens, "-p", "--protocol")
            if protocol is not None and _holds(protocol, "tcp" in protocol.values) is False:
                continue
            rules.append(FirewallRule(
                tool, f"table filter chain {tokens[1]}", line, target.values[0].lower(), f"{tool} -D {line[3:]}",
                frozenset({version}), _option(tokens, "--dport", "--dports", "--destination-port"),
                _option(tokens, "-d", "--destination"), _option(tokens, "-i", "--in-interface"),
            ))
    return tuple(rules)
