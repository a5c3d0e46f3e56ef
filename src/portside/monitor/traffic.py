"""Bytes per listener between two samples, from the kernel's per-connection TCP counters. Pure.

No packet capture: each sample is the kernel's table of TCP connections with their counters
(bytes received, bytes the peer acknowledged), and the final counters of connections destroyed
since the last sample (`portside.inventory.destroyed_flows`). `Meter` keeps the counters
it saw last by socket cookie, so a live connection adds what it moved since then, one first
seen adds all it moved, and a destroyed one what it moved since it was last seen. A listener's
traffic is that of the connections on its address and port (`accepts`: its own address, or
the wildcard it is bound to).

What is missed: bytes of connections that closed since the last sample when the kernel's
close notices are not received (no subscription, or its buffer overflowed), and connections
that outlived their listener count in full once a new listener takes the port. The kernel
counts a FIN (and the SYN of a connection this machine opened) as one byte.
"""

from __future__ import annotations

from collections.abc import Iterable

from portside._typing import NamedTuple
from portside.inventory.match import accepts
from portside.inventory.snapshot import TcpFlow
from portside.model import ConnectionState, Listener, Protocol
from portside.monitor.events import ListenerKey, Traffic, key_of

Endpoint = tuple[str, int]


class Moved(NamedTuple):
    """Per local endpoint: established connections, bytes in and out since the last sample."""

    connections: int
    bytes_in: int
    bytes_out: int


class Meter:
    """The counters last seen per connection; `count` turns one sample into bytes moved."""

    def __init__(self) -> None:
        self.seen: dict[int, TcpFlow] = {}

    def count(self, live: Iterable[TcpFlow], closed: Iterable[TcpFlow]) -> dict[Endpoint, Moved]:
        """What moved per local endpoint since the last call: `live` connections as dumped now,
        then `closed` ones with their final counters (a connection may be in both, when it closed
        between the dump and the read of the notices). Runs for every connection at every sample."""
        previous = self.seen
        seen: dict[int, TcpFlow] = {}
        totals: dict[Endpoint, list[int]] = {}
        established = ConnectionState.ESTABLISHED
        for flow in live:
            cookie, state, address, port, received, acked = flow
            last = previous.get(cookie)
            seen[cookie] = flow
            sums = totals.get((address, port))
            if sums is None:
                sums = totals[(address, port)] = [0, 0, 0]
            if state is established:
                sums[0] += 1
            if last is None:
                sums[1] += received
                sums[2] += acked
            elif received != last[4] or acked != last[5]:
                sums[1] += received - last[4]
                sums[2] += acked - last[5]
        for flow in closed:
            last = seen.pop(flow.cookie, None) or previous.get(flow.cookie)
            sums = totals.setdefault((flow.address, flow.port), [0, 0, 0])
            sums[1] += max(0, flow.bytes_received - (last.bytes_received if last else 0))
            sums[2] += max(0, flow.bytes_acked - (last.bytes_acked if last else 0))
        self.seen = seen
        return {where: Moved(*sums) for where, sums in totals.items()}


def per_listener(listeners: Iterable[Listener], moved: dict[Endpoint, Moved], seconds: float
                 ) -> dict[ListenerKey, Traffic]:
    """Each TCP listener's traffic (by `key_of`): the endpoints on its port that it accepts, summed."""
    on_port: dict[int, list[Listener]] = {}
    for item in listeners:
        if item.protocol is Protocol.TCP:
            on_port.setdefault(item.port, []).append(item)
    sums: dict[Listener, list[int]] = {item: [0, 0, 0] for items in on_port.values() for item in items}
    for (address, port), figures in moved.items():
        candidates = on_port.get(port)
        if not candidates:
            continue
        owner = _owner(candidates, address)
        if owner is not None:
            total = sums[owner]
            total[0] += figures.connections
            total[1] += figures.bytes_in
            total[2] += figures.bytes_out
    return {key_of(item): Traffic(total[0], total[1], total[2], seconds) for item, total in sums.items()}


def _owner(candidates: list[Listener], address: str) -> Listener | None:
    """The listener a connection to `address` reached: the exact address before a wildcard."""
    exact = [item for item in candidates if item.address == address]
    if exact:
        return exact[0]
    return next((item for item in candidates if accepts(item, address)), None)
