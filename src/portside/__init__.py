"""portside: the services on this machine — who listens where, exposure, and control.

The public API is a few functions over the inventory; each imports what it needs on
first use, so `import portside` stays cheap.
"""

from __future__ import annotations

from portside.errors import InventoryError, PortsideError, RefusedError, TargetError, UsageError
from portside.model import Connection, Exposure, Family, Inventory, Listener, ProcessInfo, Protocol

__all__ = [
    "Connection",
    "Exposure",
    "Family",
    "Inventory",
    "InventoryError",
    "Listener",
    "PortsideError",
    "ProcessInfo",
    "Protocol",
    "RefusedError",
    "TargetError",
    "UsageError",
    "listeners",
    "owner_of",
    "take_inventory",
]


def take_inventory(connections: bool = False, backend: str | None = None) -> Inventory:
    """Every listener on this machine, with established connections when asked."""
    from portside.inventory import inventory as read

    return read(connections=connections, backend=backend)


def listeners(backend: str | None = None) -> tuple[Listener, ...]:
    """Every listening TCP socket and bound UDP socket, sorted by port."""
    return take_inventory(backend=backend).listeners


def owner_of(port: int | str, backend: str | None = None) -> tuple[ProcessInfo, ...]:
    """Every process holding a listener on `port` (a number or any target text)."""
    from portside.inventory.match import matching
    from portside.net.addresses import parse_port, parse_target
    from portside.net.resolve import addresses_of

    if isinstance(port, int):
        target_port, addresses = parse_port(str(port)), None
    else:
        target = parse_target(port)
        target_port, addresses = target.port, addresses_of(target)
    seen: dict[int, ProcessInfo] = {}
    for listener in matching(listeners(backend), target_port, addresses):
        for info in listener.processes:
            seen.setdefault(info.pid, info)
    return tuple(seen[pid] for pid in sorted(seen))
