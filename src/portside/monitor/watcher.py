"""The sampling loop of `watch`: at each interval an inventory and the TCP counters, turned into events.

`Watcher.step()` takes one sample. The first is the baseline: it yields the inventory's notes
(what this caller may not see, and why) as `note` events and primes the traffic meter, but no
listener events; later steps yield what changed since the step before, and a `traffic` event
for each TCP listener whose connections moved bytes or changed in number. Inventories come
from `portside.inventory.follow` (its owner walk remembers between steps), counters from
sock_diag, plus the kernel's notices of destroyed connections so bytes of connections that
close between steps still count. What cannot be followed (no netlink, a refused subscription,
notices dropped) is said once in a `note` event; the watch goes on without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator

from portside._typing import TYPE_CHECKING, NamedTuple
from portside.errors import InventoryError
from portside.inventory import destroyed_flows, flow_memo, follow, tcp_flows
from portside.model import Family, Listener, Protocol
from portside.monitor.events import Event, EventKind, ListenerKey, Traffic, diff, exposed, key_of
from portside.monitor.traffic import Endpoint, Meter, Moved, per_listener

if TYPE_CHECKING:
    from portside.inventory._netlink import DestroyedFlows


class Flows:
    """The kernel's TCP connections on listeners' ports, read again and again and turned into what moved.

    Each read dumps the connections (decoding only those that changed: `inventory.flow_memo`) and
    drains the close notices of the subscription taken at construction, when `follow_closes` and the
    kernel allows it (`refused` says why not); the `Meter` turns both into bytes moved per endpoint.
    `close()` ends the subscription; reads go on without it.
    """

    def __init__(self, follow_closes: bool = True) -> None:
        self.meter = Meter()
        self.memo = flow_memo()
        self.closing: DestroyedFlows | None = None
        self.refused: InventoryError | None = None
        if follow_closes:
            try:
                self.closing = destroyed_flows()
            except InventoryError as error:
                self.refused = error

    @property
    def lost(self) -> int:
        """How many times the kernel dropped close notices (its buffer full)."""
        return 0 if self.closing is None else self.closing.lost

    def moved(self, listeners: tuple[Listener, ...]) -> dict[Endpoint, Moved]:
        """What moved per local endpoint on `listeners`' TCP ports since the last read. InventoryError when the
        connections cannot be read."""
        ports: dict[Family, set[int]] = {Family.IPV4: set(), Family.IPV6: set()}
        for item in listeners:
            if item.protocol is Protocol.TCP:
                ports[item.family].add(item.port)
        live = tcp_flows(ports, self.memo)
        closed = self.closing.drain(ports[Family.IPV4] | ports[Family.IPV6]) if self.closing is not None else []
        return self.meter.count(live, closed)

    def close(self) -> None:
        if self.closing is not None:
            self.closing.close()
            self.closing = None


class Tick(NamedTuple):
    """One sample: when, the listeners then, the events since the last sample, each TCP listener's traffic."""

    time: float
    listeners: tuple[Listener, ...]
    events: tuple[Event, ...]
    traffic: dict[ListenerKey, Traffic]


class Watcher:
    """Samples the machine at each `step()`; `close()` ends the kernel subscription it holds."""

    def __init__(
        self,
        *,
        protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP),
        traffic: bool = True,
        backend: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.take = follow(protocols, backend)
        self.traffic = traffic and Protocol.TCP in protocols
        self.flows = Flows(follow_closes=self.traffic)
        self.notes: list[str] = []
        self.listeners: tuple[Listener, ...] | None = None
        self.connections: dict[ListenerKey, int] = {}
        self.sampled: float | None = None
        self.lost = 0
        if self.flows.refused is not None:
            self.notes.append(f"traffic: bytes of connections that close between two samples are not counted "
                              f"({self.flows.refused})")

    def step(self) -> Tick:
        """Sample now: the events since the last step, and each TCP listener's traffic."""
        now = self.clock()
        found = self.take()
        events: list[Event] = []
        if self.listeners is None:
            self.notes[:0] = found.notes
        elif found.listeners is not self.listeners:  # `follow` hands back the same tuple when nothing changed
            events.extend(diff(self.listeners, found.listeners, now))
        traffic = self._traffic(found.listeners) if self.traffic else {}
        moving = [key for key, figures in traffic.items()
                  if figures.bytes_in or figures.bytes_out or figures.connections != self.connections.get(key, 0)
                  ] if self.listeners is not None else []
        if moving:
            by_key = {key_of(item): item for item in found.listeners}
            events.extend(Event(EventKind.TRAFFIC, now, by_key[key], traffic=traffic[key]) for key in moving)
        self.connections = {key: figures.connections for key, figures in traffic.items() if figures.connections}
        events[:0] = [Event(EventKind.NOTE, now, None, note=note) for note in self.notes]
        self.notes = []
        self.listeners = found.listeners
        return Tick(now, found.listeners, tuple(events), traffic)

    def _traffic(self, listeners: tuple[Listener, ...]) -> dict[ListenerKey, Traffic]:
        try:
            moved = self.flows.moved(listeners)
        except InventoryError as error:
            self.traffic = False
            self.close()
            self.notes.append(f"traffic: not shown ({error})")
            return {}
        moment = time.monotonic()
        first = self.sampled is None
        seconds = 0.0 if self.sampled is None else moment - self.sampled
        self.sampled = moment
        if self.flows.lost > self.lost:
            if not self.lost:
                self.notes.append("traffic: the kernel dropped notices of closing connections (receive buffer "
                                  "full): the last bytes of some closed connections are not counted")
            self.lost = self.flows.lost
        figures = per_listener(listeners, moved, seconds)
        if first:  # counters seen for the first time hold everything since each connection began
            return {key: Traffic(item.connections, 0, 0, 0.0) for key, item in figures.items()}
        return figures

    def close(self) -> None:
        self.flows.close()


def watch(
    *,
    interval: float = 1.0,
    exposed_only: bool = False,
    traffic: bool = True,
    protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP),
    duration: float | None = None,
) -> Generator[Event, None, None]:
    """Take the baseline now, then sample every `interval` seconds (more than 0) and yield each event as it
    is seen, for `duration` seconds (None: until the generator is closed)."""
    watcher = Watcher(protocols=protocols, traffic=traffic)
    began = time.monotonic()
    try:
        baseline = watcher.step()
    except BaseException:
        watcher.close()
        raise
    return _follow(watcher, baseline, interval, exposed_only, None if duration is None else began + duration, began)


def _follow(watcher: Watcher, baseline: Tick, interval: float, exposed_only: bool, end: float | None,
            began: float) -> Generator[Event, None, None]:
    try:
        tick = baseline
        deadline = began
        while True:
            for event in tick.events:
                if not exposed_only or event.kind is EventKind.NOTE or exposed(event):
                    yield event
            now = time.monotonic()
            if end is not None and now >= end:
                return
            deadline = max(deadline + interval, now)
            if end is not None:
                deadline = min(deadline, end)
            time.sleep(deadline - now)
            tick = watcher.step()
    finally:
        watcher.close()
