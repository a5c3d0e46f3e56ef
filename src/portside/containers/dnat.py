"""DNAT rules that forward a host port to a container, from the nftables and iptables listings. Pure.

With Docker's `userland-proxy` off, a CNI portmap or netavark, a published port has no
socket on the host at all: only a rule in the nat table that rewrites the destination
(`ip daddr 127.0.0.1 tcp dport 8080 ... dnat to 172.17.0.2:80`, or iptables-save's
`-d 127.0.0.1/32 -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80`). Rules
without a destination address (or with a /0 one) catch every local address. The chain tells the engine:
Docker's `DOCKER`, Podman's `CNI-DN-*` and `NETAVARK-DN-*`. Sets, ranges and rules of
other chains are left out: they are not an engine's publishing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from portside._typing import NamedTuple
from portside.model import Engine

_PORT = re.compile(r"\b(tcp|udp) dport (\d+)(?=\s|$)")
_DADDR = re.compile(r"\bip6? daddr ([0-9a-fA-F:.]+)(?:/(32|128|0))?(?=\s|$)")
_TO = re.compile(r"\bdnat (?:ip6? )?to (\[[0-9a-fA-F:.]+\]|[0-9.]+)(?::(\d+))?(?=\s|$)")
_CHAIN = re.compile(r"^\s*chain (\S+) \{")
_SAVE_TO = re.compile(r"--to-destination (\[[0-9a-fA-F:.]+\]|[0-9.]+)(?::(\d+))?")


class DnatRule(NamedTuple):
    """Traffic to `address` (None: any local address) on `port` goes to `to_address`:`to_port`."""

    protocol: str
    address: str | None
    port: int
    to_address: str
    to_port: int
    chain: str
    engine: Engine | None


def engine_of_chain(chain: str) -> Engine | None:
    """Docker for `DOCKER`, Podman for `CNI-DN-*` and `NETAVARK-DN-*`, else None."""
    if chain == "DOCKER":
        return Engine.DOCKER
    if chain.startswith(("CNI-DN-", "NETAVARK-DN-")):
        return Engine.PODMAN
    return None


def _port(text: str) -> int | None:
    value = int(text)
    return value if 0 < value < 65536 else None


def _rule(protocol: str, port_text: str, address: str | None, to: str, to_port: str | None,
          chain: str) -> DnatRule | None:
    port = _port(port_text)
    target = _port(to_port) if to_port else port
    if port is None or target is None:
        return None
    return DnatRule(protocol, address, port, to.strip("[]"), target, chain, engine_of_chain(chain))


def parse_nft_dnat(text: str) -> Iterator[DnatRule]:
    """The DNAT rules of `nft list ruleset` output that name one protocol and one port."""
    chain = ""
    for line in text.splitlines():
        opened = _CHAIN.match(line)
        if opened is not None:
            chain = opened.group(1)
            continue
        to = _TO.search(line)
        port = _PORT.search(line)
        daddr = _DADDR.search(line)
        if to is None or port is None or " daddr " in line and (daddr is None or " daddr != " in line):
            continue
        address = daddr.group(1) if daddr and daddr.group(2) != "0" else None
        found = _rule(port.group(1), port.group(2), address, to.group(1), to.group(2), chain)
        if found is not None:
            yield found


def _option(words: list[str], *names: str) -> str | None:
    for index, word in enumerate(words[:-1]):
        if word in names and (index == 0 or words[index - 1] != "!"):
            return words[index + 1]
    return None


def parse_iptables_dnat(text: str) -> Iterator[DnatRule]:
    """The DNAT rules of `iptables-save -t nat` output that name one protocol, one port and at most one address."""
    for line in text.splitlines():
        if not line.startswith("-A ") or "-j DNAT" not in line or "! -d " in line:
            continue
        words = line.split()
        to = _SAVE_TO.search(line)
        protocol = _option(words, "-p", "--protocol") or ""
        port = _option(words, "--dport", "--destination-port") or ""
        address, slash, bits = (_option(words, "-d", "--destination") or "").partition("/")
        if to is None or protocol not in ("tcp", "udp") or not port.isdigit() or slash and bits not in ("32", "128", "0"):
            continue
        found = _rule(protocol, port, address if address and bits != "0" else None, to.group(1), to.group(2), words[1])
        if found is not None:
            yield found
