"""The Prometheus text exposition format (version 0.0.4) of one sample: listeners, traffic and leases. Pure.

Families are fixed here, with their HELP text, so docs/metrics.md and the tests name the same set.
Labels are escaped per the format (backslash, double quote, newline). Per-process details with
unbounded values (pid, command line, user) are left out of the labels: every restart would make a
new series, and a fleet's Prometheus would keep them all. `process` is the owners' names, sorted
and joined with ","; `container` is the container's name (or id), "" when none.
A listener appears once per (protocol, address, port): the inventory's key (family is implied by
the address).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from portside._typing import NamedTuple
from portside.model import Exposure, LeaseState, Listener, Protocol
from portside.monitor.events import ListenerKey, key_of

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Totals(NamedTuple):
    """A TCP listener's established connections now, and the bytes in and out counted since counting began."""

    connections: int
    bytes_in: int
    bytes_out: int


FAMILIES: dict[str, tuple[str, str]] = {
    "portside_listener_info": ("gauge", ("A listening socket; always 1. Labels: protocol, address, port, exposure, "
                                        "process (owners' names), container.")),
    "portside_listeners": ("gauge", "Listening sockets by exposure (loopback, interface, all)."),
    "portside_listener_connections": ("gauge", "Established TCP connections of a listener."),
    "portside_listener_bytes_total": ("counter", ("Bytes a TCP listener's connections moved since counting began, "
                                                 "by direction (in: received, out: acknowledged by the peer).")),
    "portside_leases": ("gauge", "Port leases recorded by portside, by state (alive, stale)."),
}


def escape(value: str) -> str:
    """A label value as the format writes it between double quotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def process_label(listener: Listener) -> str:
    return ",".join(sorted({info.name for info in listener.processes}))


def container_label(listener: Listener) -> str:
    container = listener.container
    if container is None:
        return ""
    return container.name or container.id or container.engine.value


def exposition(listeners: Iterable[Listener], traffic: Mapping[ListenerKey, Totals],
               leases: Iterable[LeaseState]) -> str:
    """The whole text exposition of one sample, ending with a newline."""
    unique: dict[ListenerKey, Listener] = {}
    for item in listeners:
        unique.setdefault(key_of(item), item)
    info: list[str] = []
    connections: list[str] = []
    moved: list[str] = []
    counts = dict.fromkeys(Exposure, 0)
    for key, item in unique.items():
        counts[item.exposure] += 1
        where = f'protocol="{item.protocol.value}",address="{escape(item.address)}",port="{item.port}"'
        info.append(f'portside_listener_info{{{where},exposure="{item.exposure.value}",'
                    f'process="{escape(process_label(item))}",container="{escape(container_label(item))}"}} 1')
        if item.protocol is not Protocol.TCP:
            continue
        totals = traffic.get(key, Totals(0, 0, 0))
        connections.append(f"portside_listener_connections{{{where}}} {totals.connections}")
        moved.append(f'portside_listener_bytes_total{{{where},direction="in"}} {totals.bytes_in}')
        moved.append(f'portside_listener_bytes_total{{{where},direction="out"}} {totals.bytes_out}')
    alive = stale = 0
    for state in leases:
        if state.alive:
            alive += 1
        else:
            stale += 1
    samples = {
        "portside_listener_info": info,
        "portside_listeners": [f'portside_listeners{{exposure="{exposure.value}"}} {count}'
                               for exposure, count in counts.items()],
        "portside_listener_connections": connections,
        "portside_listener_bytes_total": moved,
        "portside_leases": [f'portside_leases{{state="alive"}} {alive}', f'portside_leases{{state="stale"}} {stale}'],
    }
    lines: list[str] = []
    for name, (kind, text) in FAMILIES.items():
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(samples[name])
    return "\n".join(lines) + "\n"
