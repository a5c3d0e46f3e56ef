"""Which ports an allocator may hand out: a range minus what the kernel keeps for itself.

The kernel picks local ports for outgoing connections (and for bind to port 0) from
`net.ipv4.ip_local_port_range` and skips `net.ipv4.ip_local_reserved_ports`. A port handed
to a test from inside that range can be taken by the next outgoing connection before the
test binds it, so the pool is the requested range (IANA's dynamic range 49152-65535 by
default) minus both. Pure: the sysctl texts come in as strings.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import chain, filterfalse

from portside._typing import NamedTuple
from portside.errors import EmptyPool, UsageError

MAX_PORT = 65535


class PortRange(NamedTuple):
    """Ports `low` to `high`, both included."""

    low: int
    high: int

    def __str__(self) -> str:
        return f"{self.low}-{self.high}"

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.low <= port <= self.high


IANA_DYNAMIC = PortRange(49152, MAX_PORT)


class KernelPorts(NamedTuple):
    """The kernel's own claims on local ports: the ephemeral range and the reserved ports."""

    ephemeral: PortRange
    reserved: frozenset[int]


def _number(text: str, original: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        raise UsageError(f"invalid port range {original!r}: {text!r} is not a port number")
    port = int(text)
    if not 1 <= port <= MAX_PORT:
        raise UsageError(f"invalid port range {original!r}: {port} is out of range (expected 1 to 65535)")
    return port


def parse_range(text: str) -> PortRange:
    """A range as users write it: `LO-HI` (or a single port); raise UsageError naming the fault."""
    low_text, dash, high_text = text.partition("-")
    if not text.strip():
        raise UsageError("invalid port range '': expected LO-HI, e.g. 61000-61999")
    low = _number(low_text, text)
    high = _number(high_text, text) if dash else low
    if low > high:
        raise UsageError(f"invalid port range {text!r}: {low} is above {high} (expected LO-HI with LO <= HI)")
    return PortRange(low, high)


def parse_local_port_range(text: str) -> PortRange:
    """The sysctl text of `ip_local_port_range`: two numbers separated by white space."""
    parts = text.split()
    if len(parts) != 2 or not all(part.isascii() and part.isdigit() for part in parts):
        raise ValueError(f"unexpected ip_local_port_range {text!r}")
    return PortRange(int(parts[0]), int(parts[1]))


def parse_reserved_ports(text: str) -> frozenset[int]:
    """The sysctl text of `ip_local_reserved_ports`: `8080,9000-9100`, possibly empty."""
    ports: set[int] = set()
    for item in text.strip().split(","):
        item = item.strip()
        if not item:
            continue
        low, dash, high = item.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"unexpected ip_local_reserved_ports item {item!r}")
        ports.update(range(int(low), int(high if dash else low) + 1))
    return frozenset(ports)


@lru_cache(maxsize=8)
def pool(requested: PortRange, kernel: KernelPorts) -> tuple[int, ...]:
    """The ports of `requested` that the kernel never hands out on its own; EmptyPool says why when none."""
    below = range(requested.low, min(requested.high, kernel.ephemeral.low - 1) + 1)
    above = range(max(requested.low, kernel.ephemeral.high + 1), requested.high + 1)
    ports = tuple(filterfalse(kernel.reserved.__contains__, chain(below, above)))
    if ports:
        return ports
    if all(port in kernel.ephemeral for port in range(requested.low, requested.high + 1)):
        why = (
            f"it lies inside the kernel's ephemeral range {kernel.ephemeral} (net.ipv4.ip_local_port_range), "
            "where outgoing connections take ports at any moment"
        )
    else:
        why = (
            f"every port is either in the kernel's ephemeral range {kernel.ephemeral} "
            "or in net.ipv4.ip_local_reserved_ports"
        )
    raise EmptyPool(f"no port to allocate in {requested}: {why}; choose another --range")
