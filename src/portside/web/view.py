"""What the dashboard shows, as plain rows built from portside's records — pure.

The I/O side (live.py, collect.py) gathers listeners and their traffic (monitor's Watcher),
routes, run output files, leases and events; `View` holds them; render.py turns a View into
HTML. Listeners are many on a busy machine: `filtered` keeps those matching the page's filter
and at most MAX_LISTENERS of them, exposed ones first, and says how many were left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from portside.containers.describe import label
from portside.model import Exposure, Lease, LeaseState, Listener, Route, RouteKind
from portside.monitor.events import Event, EventKind, ListenerKey, Traffic, key_of

MAX_LISTENERS = 1000
MAX_EVENTS = 200


class RunOutput(NamedTuple):
    """A run's kept output: its command and last lines ((stream, text) pairs)."""

    command: tuple[str, ...]
    lines: tuple[tuple[str, str], ...]


class Service(NamedTuple):
    """A `run` service: its route (owner = the `portside run` process) and its output, when kept."""

    route: Route
    url: str
    output: RunOutput | None


class View(NamedTuple):
    """Everything one page shows."""

    listeners: tuple[Listener, ...]
    traffic: Mapping[ListenerKey, Traffic]
    routes: tuple[tuple[Route, str], ...]
    services: tuple[Service, ...]
    leases: tuple[LeaseState, ...]
    events: tuple[Event, ...]
    hidden: int = 0
    notes: tuple[str, ...] = ()


def matches(listener: Listener, query: str) -> bool:
    """The page's filter: a port, or text found in the address, exposure, an owner's name or pid, or the container."""
    query = query.strip().lower()
    if not query:
        return True
    if query.isdigit():
        return listener.port == int(query) or any(info.pid == int(query) for info in listener.processes)
    fields = [listener.address, listener.exposure.value, listener.protocol.value,
              *(info.name for info in listener.processes)]
    if listener.container is not None:
        fields.append(label(listener.container))
    return any(query in field.lower() for field in fields)


def filtered(listeners: Iterable[Listener], query: str, limit: int = MAX_LISTENERS) -> tuple[tuple[Listener, ...], int]:
    """The listeners to show (exposed first, then by port) and how many matching ones were left out."""
    chosen = sorted((item for item in listeners if matches(item, query)),
                    key=lambda item: (item.exposure is Exposure.LOOPBACK, item.port, item.protocol, item.address))
    return tuple(chosen[:limit]), max(0, len(chosen) - limit)


def services_of(routes: Iterable[tuple[Route, str]], outputs: Mapping[tuple[str, int], RunOutput]) -> tuple[Service, ...]:
    """The run routes as services, each with its output file's content when there is one."""
    return tuple(Service(route, url, outputs.get((route.name, route.owner_pid or 0)))
                 for route, url in routes if route.kind is RouteKind.RUN)


def logged(events: Iterable[Event]) -> list[Event]:
    """The events worth keeping in the log: all but traffic figures (they change every second)."""
    return [event for event in events if event.kind is not EventKind.TRAFFIC]


def lease_owner(lease: Lease) -> str:
    return f"pid {lease.owner_pid}"


def listener_key(listener: Listener) -> str:
    """A stable id for a table row: protocol/address/port."""
    protocol, _, address, port = key_of(listener)
    return f"{protocol}/{address}/{port}"
