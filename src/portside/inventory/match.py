"""Which listeners a target reaches. Pure: names are resolved before they get here.

A bare port names every listener on it. With addresses, a listener matches when a
connection to one of them would reach it: its own address, a wildcard of that
address's family, or a dual-stack `::` for IPv4 addresses. A scoped address matches
only in its own zone (fe80::1%eth0 is not fe80::1%eth1); one given without a zone
matches in any.
"""

from __future__ import annotations

from portside.model import Connection, Listener
from portside.net.addresses import ip_of, zone_of


def accepts(listener: Listener, address: str) -> bool:
    """True when a connection to `address` on the listener's port would reach it."""
    ip = ip_of(address)
    bound = ip_of(listener.address)
    if bound.is_unspecified:
        return bound.version == ip.version or (ip.version == 4 and listener.dual_stack)
    zones = (zone_of(address), zone_of(listener.address))
    return bound == ip and (None in zones or zones[0] == zones[1])


def matching(listeners: tuple[Listener, ...], port: int, addresses: tuple[str, ...] | None) -> tuple[Listener, ...]:
    """The listeners on `port` that any of `addresses` reaches (all of them when None)."""
    return tuple(
        item
        for item in listeners
        if item.port == port and (addresses is None or any(accepts(item, a) for a in addresses))
    )


def clients(connections: tuple[Connection, ...], listeners: tuple[Listener, ...]) -> tuple[Connection, ...]:
    """The connections made to `listeners`' ports, less the listening sockets themselves."""
    ports = {item.port for item in listeners}
    inodes = {inode for item in listeners for inode in item.inodes}
    return tuple(c for c in connections if c.local.port in ports and c.inode not in inodes)
