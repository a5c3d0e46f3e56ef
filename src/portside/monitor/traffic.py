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
that outlived their listener count in full once a new listener takes the port. A close notice
is matched with the counters of the last two samples (the kernel sends notices from a work queue,
so one may come a sample late); one later still would count its connection from the start. The
kernel counts a FIN (and the SYN of a connection this machine opened) as one byte.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain, compress
from operator import itemgetter, ne

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
    """The connections last seen, kept between calls; `count` turns one sample into bytes moved.

    At every sample most connections are idle, and the kernel lists them in the same order as
    before (its hash table's). So a sample is compared with the last one place by place (in C),
    and only flows that differ from the flow at their place last time are looked at in Python:
    new connections, new counters or states, and those that went or changed place. Established
    connections per endpoint are kept as counts that those changes adjust.
    """

    def __init__(self) -> None:
        self.live: list[TcpFlow] = []
        self.gone: dict[int, TcpFlow] = {}
        self.established: dict[Endpoint, int] = {}

    def count(self, live: Iterable[TcpFlow], closed: Iterable[TcpFlow]) -> dict[Endpoint, Moved]:
        """What moved per local endpoint since the last call: `live` connections as dumped now,
        then `closed` ones with their final counters (a connection may be in both, when it closed
        between the dump and the read of the notices)."""
        now = list(live)
        if len(set(map(itemgetter(0), now))) != len(now):  # a dump may list a connection twice: keep one
            now = list(dict(zip(map(itemgetter(0), now), now)).values())
        before = self.live
        shared = min(len(now), len(before))
        places = list(compress(range(shared), map(ne, now, before)))
        news = {flow.cookie: flow for flow in chain((now[at] for at in places), now[shared:])}
        olds = {flow.cookie: flow for flow in chain((before[at] for at in places), before[shared:])}
        counts = self.established
        moved: dict[Endpoint, list[int]] = {}
        established = ConnectionState.ESTABLISHED
        for cookie in news.keys() | olds.keys():
            new, old = news.get(cookie), olds.get(cookie)
            if new == old:
                continue  # the same connection at another place
            if old is not None and old.state is established:
                counts[(old.address, old.port)] -= 1
            if new is not None:
                where = (new.address, new.port)
                if new.state is established:
                    counts[where] = counts.get(where, 0) + 1
                _add(moved, where, new, old if old is not None else self.gone.get(cookie))  # gone: a dump missed it
        gone = {cookie: flow for cookie, flow in olds.items() if cookie not in news}
        index: dict[int, TcpFlow] | None = None
        for flow in closed:
            if index is None:
                index = dict(zip(map(itemgetter(0), now), now))
            last = index.pop(flow.cookie, None) or gone.get(flow.cookie) or self.gone.get(flow.cookie)
            _add(moved, (flow.address, flow.port), flow, last)
        self.live, self.gone = now, gone  # a close notice may come a sample after its connection went
        result = {where: Moved(number, 0, 0) for where, number in counts.items() if number}
        for where, (received, acked) in moved.items():
            result[where] = Moved(counts.get(where, 0), received, acked)
        for where in [where for where, number in counts.items() if not number]:
            del counts[where]
        return result


def _add(moved: dict[Endpoint, list[int]], where: Endpoint, flow: TcpFlow, last: TcpFlow | None) -> None:
    """Add what `flow` moved since `last` (all it moved when None) to `where`'s sums."""
    sums = moved.get(where)
    if sums is None:
        sums = moved[where] = [0, 0]
    sums[0] += max(0, flow.bytes_received - (last.bytes_received if last else 0))
    sums[1] += max(0, flow.bytes_acked - (last.bytes_acked if last else 0))


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
