"""The TUI's table as data: one row of text cells per listener, filtered by typed words and sorted. Pure.

Kept apart from the Textual app so what the table says is tested without a terminal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from portside.model import Listener, Protocol
from portside.monitor.events import Traffic
from portside.net.addresses import host_port

COLUMNS = ("LISTEN", "EXPOSURE", "OWNER", "CONN", "IN/s", "OUT/s", "CONTAINER")
OWNER_WIDTH = 16


class SortBy(StrEnum):
    PORT = "port"
    TRAFFIC = "traffic"
    CONNECTIONS = "connections"
    PROCESS = "process"


class Row(NamedTuple):
    key: str
    listener: Listener
    traffic: Traffic | None
    cells: tuple[str, ...]
    words: str


def listen_text(listener: Listener) -> str:
    """'127.0.0.1:8000' for TCP, '127.0.0.1:53/udp' for UDP (as /etc/services writes ports)."""
    shown = host_port(listener.address, listener.port)
    return shown if listener.protocol is Protocol.TCP else f"{shown}/udp"


def row_key(listener: Listener) -> str:
    return f"{listener.protocol.value} {listener.family.value} {listener.address} {listener.port}"


def rate(value: float) -> str:
    """Bytes per second in at most five characters: '0', '512', '1.2k', '34k', '1.2M'."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size * 0.9995:
            shown = value / size
            return f"{shown:.1f}{unit}" if shown < 9.95 else f"{shown:.0f}{unit}"
    return f"{value:.0f}"


def container_name(listener: Listener) -> str:
    """The container behind a listener (its name, else its short id), or '-'."""
    found = listener.container
    if found is None:
        return "-"
    return found.name or (found.id or "?")[:12]


def owner_text(listener: Listener) -> str:
    """'python3 4242', '+N' for further owners, cut to OWNER_WIDTH; '?' when no owner is visible."""
    if not listener.processes:
        return "?"
    first = listener.processes[0]
    more = f" +{len(listener.processes) - 1}" if len(listener.processes) > 1 else ""
    name = first.name[: max(1, OWNER_WIDTH - len(str(first.pid)) - len(more) - 1)]
    return f"{name} {first.pid}{more}"


def row_of(listener: Listener, traffic: Traffic | None) -> Row:
    tcp = listener.protocol is Protocol.TCP
    figures = traffic if tcp else None
    cells = (
        listen_text(listener),
        listener.exposure.value,
        owner_text(listener),
        str(figures.connections) if figures is not None else "",
        rate(figures.rate_in) if figures is not None else "",
        rate(figures.rate_out) if figures is not None else "",
        container_name(listener),
    )
    words = " ".join((*cells, *(str(p.pid) for p in listener.processes), *(p.name for p in listener.processes),
                      *(p.user or "" for p in listener.processes))).lower()
    return Row(row_key(listener), listener, figures, cells, words)


def _order(row: Row, by: SortBy) -> tuple[object, ...]:
    item = row.listener
    place = (item.port, item.protocol.value, item.family.value, item.address)
    if by is SortBy.TRAFFIC:
        moving = row.traffic.rate_in + row.traffic.rate_out if row.traffic is not None else -1.0
        return (-moving, *place)
    if by is SortBy.CONNECTIONS:
        return (-(row.traffic.connections if row.traffic is not None else -1), *place)
    if by is SortBy.PROCESS:
        return (item.processes[0].name if item.processes else "\uffff", *place)
    return place


def shown(rows: list[Row], typed: str, by: SortBy) -> list[Row]:
    """The rows whose text holds every word `typed` (any case), in `by` order."""
    words = typed.lower().split()
    kept = [row for row in rows if all(word in row.words for word in words)]
    return sorted(kept, key=lambda row: _order(row, by))
