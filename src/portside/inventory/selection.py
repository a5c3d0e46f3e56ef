"""Filter an inventory by port, process and exposure (listeners in other namespaces by port and process). Pure."""

from __future__ import annotations

from portside._typing import NamedTuple
from portside.model import Connection, Exposure, Inventory, Listener, Protocol


class Selection(NamedTuple):
    """What to keep; empty sets keep everything."""

    ports: frozenset[int] = frozenset()
    pids: frozenset[int] = frozenset()
    names: frozenset[str] = frozenset()
    exposed_only: bool = False


def _owned(item: Listener | Connection, selection: Selection) -> bool:
    if selection.pids and not any(p.pid in selection.pids for p in item.processes):
        return False
    return not selection.names or any(p.name in selection.names for p in item.processes)


def select(found: Inventory, selection: Selection) -> Inventory:
    """The part of `found` that `selection` asks for; notes are kept whole."""
    if selection == Selection():
        return found
    listeners = tuple(
        item
        for item in found.listeners
        if (not selection.ports or item.port in selection.ports)
        and (not selection.exposed_only or item.exposure is not Exposure.LOOPBACK)
        and _owned(item, selection)
    )
    kept_ports = {item.port for item in listeners}
    connections = tuple(
        item
        for item in found.connections
        if (not selection.ports or item.local.port in selection.ports or item.remote.port in selection.ports)
        and (not selection.exposed_only or item.local.port in kept_ports)
        and _owned(item, selection)
    )
    namespaces = tuple(
        item
        for item in found.namespaces
        if (not selection.ports or item.port in selection.ports)
        and (not selection.pids or item.pid in selection.pids)
        and (not selection.names or item.process in selection.names)
    )
    return found._replace(listeners=listeners, connections=connections, namespaces=namespaces)


def protocols(*, tcp: bool, udp: bool) -> tuple[Protocol, ...]:
    """What `--tcp` / `--udp` ask to read: one of them alone, else both."""
    if tcp and not udp:
        return (Protocol.TCP,)
    if udp and not tcp:
        return (Protocol.UDP,)
    return (Protocol.TCP, Protocol.UDP)
