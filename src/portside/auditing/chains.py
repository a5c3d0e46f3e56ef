"""The firewall as ordered chains of rules with verdicts, from nftables and iptables-save text. Pure.

doctor/firewall.py keeps only the rules that drop; proving reachability needs the whole
path: every base chain of a hook in priority order, accept rules before drops, jumps,
returns and policies. Each rule becomes a list of `Match`es (destination port and
address, source address, input/output interface, conntrack state, layer-4 protocol)
plus what it could not read (`unread`), which the evaluator treats as "cannot say".
Counters, comments and logging are not conditions and are dropped.
"""

from __future__ import annotations

import re
import shlex

from portside._typing import NamedTuple
from portside.doctor.firewall import NFT_FAMILIES, _values

HOOKS = {"INPUT": "input", "FORWARD": "forward", "PREROUTING": "prerouting"}


class Match(NamedTuple):
    """One test: `field` (dport, daddr, saddr, iif, oif, ct, l4) must (negated: must not) be among `values`."""

    field: str
    values: tuple[str, ...]
    negated: bool = False
    version: int | None = None  # `ip daddr` tests only IPv4 packets, `ip6 daddr` only IPv6


class Rule(NamedTuple):
    text: str
    location: str
    matches: tuple[Match, ...]
    verdict: str | None
    target: str | None = None
    unread: str = ""


class Chain(NamedTuple):
    source: str
    family: str
    table: str
    name: str
    hook: str | None
    priority: int
    policy: str
    rules: tuple[Rule, ...]
    families: frozenset[int]
    devices: tuple[str, ...] = ()  # a netdev (ingress) chain sees only packets arriving on these

    @property
    def location(self) -> str:
        if self.source == "nftables":
            return f"table {self.family} {self.table} chain {self.name}"
        return f"{self.source} table {self.table} chain {self.name}"


_VALUE = r"(?P<neg>!=\s*)?(?P<value>\{[^}]*\}|@[\w.-]+|\"[^\"]*\"|[^\s{}]+)"
_NFT_MATCHES = (
    ("dport", re.compile(r"\b(?:tcp|th)\s+dport\s+" + _VALUE)),
    ("daddr", re.compile(r"\b(?P<ip>ip6?)\s+daddr\s+" + _VALUE)),
    ("saddr", re.compile(r"\b(?P<ip>ip6?)\s+saddr\s+" + _VALUE)),
    ("iif", re.compile(r"\b(?:meta\s+)?(?:iif|iifname)\s+" + _VALUE)),
    ("oif", re.compile(r"\b(?:meta\s+)?(?:oif|oifname)\s+" + _VALUE)),
    ("ct", re.compile(r"\bct\s+state\s+" + _VALUE)),
    ("l4", re.compile(r"\b(?:meta\s+l4proto|ip\s+protocol|ip6\s+nexthdr)\s+" + _VALUE)),
    ("l4", re.compile(r"\b(?P<value>udp|sctp|dccp|icmp|icmpv6)\s+(?:dport|sport|type|code)\s+(?:\{[^}]*\}|\S+)")),
)
_NOISE = re.compile(
    r"\bcounter(?:\s+packets\s+\d+\s+bytes\s+\d+)?|\bcomment\s+\"[^\"]*\"|\blog(?:\s+prefix\s+\"[^\"]*\"|\s+level\s+\w+)*"
    r"|\bwith\s+(?:tcp\s+reset|icmpx?\s+(?:type\s+)?[\w-]+|icmpv6\s+(?:type\s+)?[\w-]+)|\btcp\s+flags\s+\S+(?:\s*/\s*\S+)?"
)
_NFT_VERDICT = re.compile(r"\b(accept|drop|reject|return|continue|(?:jump|goto)\s+(\S+))\s*$")
_HANDLE = re.compile(r"\s*# handle \d+\s*$")
_CT_VMAP = re.compile(r"\bct\s+state\s+vmap\s+\{([^}]*)\}")


def _nft_rule(line: str, location: str, sets: dict[str, tuple[str, ...]]) -> Rule:
    body = _HANDLE.sub("", line).strip()
    rest = _NOISE.sub(" ", body)
    verdict = _NFT_VERDICT.search(rest.strip())
    target = None
    word: str | None = None
    if verdict is not None:
        word, target = verdict[1].split()[0], verdict[2]
        rest = rest.strip()[: verdict.start()]
    matches = []
    if states := _CT_VMAP.search(rest):  # a new connection takes none of established/related/invalid's verdicts
        keys = tuple(entry.split(":")[0].strip() for entry in states[1].split(",") if ":" in entry)
        matches.append(Match("ct", keys))
        rest = _CT_VMAP.sub(" vmap ", rest)
    for field, pattern in _NFT_MATCHES:
        for found in pattern.finditer(rest):
            values = _values(found["value"], sets) if "neg" in pattern.groupindex else (found["value"],)
            groups = found.groupdict()
            version = {"ip": 4, "ip6": 6}.get(groups.get("ip") or "")
            matches.append(Match(field, values, bool(groups.get("neg")), version))
        rest = pattern.sub(" ", rest)
    return Rule(body, location, tuple(matches), word, target, " ".join(rest.split()))


def parse_nft_chains(text: str) -> tuple[Chain, ...]:
    """Every chain of the IP families in `nft list ruleset` output (with or without -a), rules in order."""
    sets: dict[str, tuple[str, ...]] = {}
    raw: list[tuple[str, str, str, list[str], list[str]]] = []  # family, table, chain, header lines, rule lines
    family = table = set_name = None
    collecting: str | None = None
    current: tuple[str, str, str, list[str], list[str]] | None = None
    for line in (raw_line.strip() for raw_line in text.splitlines()):
        if collecting is not None:
            collecting += " " + line
            if "}" in line:
                sets[set_name or ""] = _values(collecting.split("{", 1)[1].split("}", 1)[0], sets)
                collecting = None
            continue
        if match := re.match(r"table (\w+) (\S+) \{", line):
            family, table, set_name, current = match[1], match[2], None, None
        elif match := re.match(r"(?:set|map) (\S+) \{", line):
            set_name, current = match[1], None
        elif match := re.match(r"chain (\S+) \{", line):
            set_name = None
            current = (str(family), str(table), match[1], [], [])
            raw.append(current)
        elif line.startswith("elements = {") and set_name is not None:
            collecting = line
            if "}" in line:
                sets[set_name] = _values(line.split("{", 1)[1].split("}", 1)[0], sets)
                collecting = None
        elif current is not None and line.startswith("type ") and "hook" in line:
            current[3].append(line)
        elif current is not None and line not in ("}", "") and not line.startswith(("policy ", "comment ")):
            current[4].append(line)
    chains = []
    for fam, tab, name, header, lines in raw:
        if fam not in (*NFT_FAMILIES, "netdev", "bridge"):
            continue
        head = " ".join(header)
        hook = re.search(r"\bhook (\w+)", head)
        kind = re.search(r"\btype (\w+)", head)
        priority = re.search(r"\bpriority ([\w+-]+(?:\s*[+-]\s*\d+)?)", head)
        policy = re.search(r"\bpolicy (\w+)", head)
        devices = re.search(r"\bdevices?\s*=?\s*(\{[^}]*\}|\"[^\"]*\"|[^\s;]+)", head)
        location = f"table {fam} {tab} chain {name}"
        hook_name = hook[1] if hook and kind and kind[1] == "filter" else None
        if fam == "bridge" and hook_name is not None:
            hook_name = "bridge " + hook_name  # frames bridged to this host, not the IP path
        rules = tuple(_nft_rule(line, location, sets) for line in lines)
        if hook_name == "ingress":  # before conntrack: a ct state there is not what it is later
            rules = tuple(rule._replace(unread=f"{rule.unread} ct state (no conntrack at ingress)".strip())
                          if any(m.field == "ct" for m in rule.matches) else rule for rule in rules)
        chains.append(Chain(
            "nftables", fam, tab, name, hook_name, _priority(priority[1] if priority else "0"),
            policy[1] if policy else "accept", rules, NFT_FAMILIES.get(fam, frozenset({4, 6})),
            _values(devices[1], {}) if devices else (),
        ))
    return tuple(chains)


_NAMED_PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}


def _priority(text: str) -> int:
    match = re.fullmatch(r"([\w-]+?)\s*(?:([+-])\s*(\d+))?", text.replace(" ", ""))
    if match is None:
        return 0
    base = match[1]
    value = int(base) if base.lstrip("-").isdigit() else _NAMED_PRIORITIES.get(base, 0)
    return value + (int(match[3]) * (1 if match[2] == "+" else -1) if match[3] else 0)


# --- iptables-save --------------------------------------------------------------------

_SKIP_OPTIONS = {"-m": 1, "--comment": 1}
_IPT_OPTIONS = {
    "--dport": "dport", "--dports": "dport", "--destination-port": "dport", "-d": "daddr", "--destination": "daddr",
    "-s": "saddr", "--source": "saddr", "-i": "iif", "--in-interface": "iif", "-o": "oif", "--out-interface": "oif",
    "--ctstate": "ct", "--state": "ct", "-p": "l4", "--protocol": "l4",
}


def _ipt_rule(line: str, location: str) -> tuple[str, Rule]:
    tokens = shlex.split(line)
    chain = tokens[1]
    matches: list[Match] = []
    unread: list[str] = []
    verdict: str | None = None
    target = None
    index, negated = 2, False
    while index < len(tokens):
        token = tokens[index]
        value = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token == "!":
            negated, index = True, index + 1
            continue
        if token in ("-j", "-g"):
            word = value.lower()
            verdict, target = (word, None) if word in ("accept", "drop", "reject", "return") else (
                "jump" if token == "-j" else "goto", value)
            index += 2
            while index < len(tokens) and tokens[index].startswith("--"):  # target options (--reject-with ...)
                index += 2
            continue
        if token in _IPT_OPTIONS:
            values = tuple(part.lower() if token in ("--ctstate", "--state") else part for part in value.split(","))
            if token in ("-p", "--protocol"):
                values = tuple(part.lower() for part in values)
            matches.append(Match(_IPT_OPTIONS[token], values, negated))
        elif token not in _SKIP_OPTIONS:
            unread.append(f"{token} {value}".strip())
        if token == "-m" and value not in ("tcp", "multiport", "conntrack", "state", "comment"):
            unread.append(f"-m {value}")
        negated, index = False, index + 2
    return chain, Rule(line, location, tuple(matches), verdict, target, " ".join(unread))


def parse_iptables_chains(text: str, version: int, tool: str) -> tuple[Chain, ...]:
    """The filter table of `iptables-save` output for IPv`version` as chains; `tool` names their source."""
    table = ""
    policies: dict[str, str] = {}
    rules: dict[str, list[Rule]] = {}
    for line in text.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif table == "filter" and line.startswith(":"):
            name, policy = line[1:].split()[:2]
            policies[name] = policy.lower() if policy != "-" else "accept"
            rules.setdefault(name, [])
        elif table == "filter" and line.startswith("-A "):
            chain, rule = _ipt_rule(line, f"{tool} table filter chain {line.split()[1]}")
            rules.setdefault(chain, []).append(rule)
    family = "ip6" if version == 6 else "ip"
    return tuple(
        Chain(tool, family, "filter", name, HOOKS.get(name), 0, policies.get(name, "accept"), tuple(found),
              frozenset({version}))
        for name, found in rules.items()
    )
