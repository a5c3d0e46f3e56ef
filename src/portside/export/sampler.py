"""Reads the machine for an export: listeners, leases, and each TCP listener's connections and bytes.

A `Sampler` keeps the TCP counters between samples (`portside.monitor.watcher.Flows`) and adds what
moved to running totals, so `portside_listener_bytes_total` is a counter for as long as the sampler
lives: the exporter keeps one, `portside export` makes one per run. The first sample counts all that
the connections open then have moved since they began; later ones add what moved since, including
the last bytes of connections that closed in between (the kernel's close notices, where it sends
them). A one-shot export therefore counts only connections open at that moment: its values may go
down between runs, which Prometheus' rate() takes for a counter reset. Owners are remembered
between samples (`portside.inventory.follow`), so a scrape does not walk every process each time.
"""

from __future__ import annotations

from portside._typing import NamedTuple
from portside.errors import InventoryError
from portside.export.prometheus import Totals
from portside.inventory import follow
from portside.model import LeaseState, Listener, Protocol
from portside.monitor.events import ListenerKey
from portside.monitor.traffic import per_listener
from portside.monitor.watcher import Flows


class Sample(NamedTuple):
    listeners: tuple[Listener, ...]
    traffic: dict[ListenerKey, Totals]
    leases: tuple[LeaseState, ...]


class Sampler:
    """One `sample()` per export or scrape; `close()` ends the kernel subscription it holds."""

    def __init__(self, *, traffic: bool = True, backend: str | None = None, follow_closes: bool = True) -> None:
        self.take = follow((Protocol.TCP, Protocol.UDP), backend)
        self.traffic = traffic
        self.flows = Flows(follow_closes=traffic and follow_closes)
        self.totals: dict[ListenerKey, list[int]] = {}

    def sample(self) -> Sample:
        from portside.leasing.allocate import leases

        found = self.take()
        return Sample(found.listeners, self._traffic(found.listeners) if self.traffic else {}, tuple(leases()))

    def _traffic(self, listeners: tuple[Listener, ...]) -> dict[ListenerKey, Totals]:
        try:
            figures = per_listener(listeners, self.flows.moved(listeners), 0.0)
        except InventoryError:
            return {}
        totals: dict[ListenerKey, list[int]] = {}  # listeners gone since the last sample are forgotten
        result: dict[ListenerKey, Totals] = {}
        for key, moved in figures.items():
            total = totals[key] = self.totals.get(key, [0, 0])
            total[0] += moved.bytes_in
            total[1] += moved.bytes_out
            result[key] = Totals(moved.connections, total[0], total[1])
        self.totals = totals
        return result

    def close(self) -> None:
        self.flows.close()
