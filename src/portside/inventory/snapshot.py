"""What an inventory adapter reads in one pass, before the pure core groups and judges it.

Both adapters (`_linux`, `_portable`) produce these records; `assemble` turns them into the
public `Listener`s and `Connection`s of `portside.model`.
"""

from __future__ import annotations

import ipaddress

from portside._typing import NamedTuple
from portside.model import ConnectionState, Endpoint, Family, InterfaceAddress, ProcessInfo, Protocol


class RawSocket(NamedTuple):
    """One socket as an adapter reads it, before it is grouped and judged."""

    protocol: Protocol
    family: Family
    state: ConnectionState
    local: Endpoint
    remote: Endpoint | None
    inode: int
    uid: int | None
    v6only: bool | None
    bound_interface: int = 0
    accept_queue: int | None = None
    backlog: int | None = None


class LocalRoute(NamedTuple):
    """Addresses the kernel takes as this machine's own (a route of its `local` table), on one device."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    if_index: int


class Snapshot(NamedTuple):
    """What an adapter read from the machine in one pass.

    `devices` names interfaces by index (for the zone of a scoped address); `local_routes` is
    None when the adapter cannot read what the kernel delivers here.
    """

    sockets: tuple[RawSocket, ...]
    owners: dict[int, tuple[int, ...]]
    processes: dict[int, ProcessInfo]
    interfaces: tuple[InterfaceAddress, ...]
    unreadable_pids: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    privileged: bool = False
    devices: tuple[tuple[int, str], ...] = ()
    local_routes: tuple[LocalRoute, ...] | None = None


class TcpFlow(NamedTuple):
    """One TCP connection's byte counters as the kernel keeps them (sock_diag's INET_DIAG_INFO).

    `cookie` is the kernel's id of the socket, never reused while the machine runs; `address`
    and `port` are its local end. `bytes_received` counts bytes in (tcpi_bytes_received),
    `bytes_acked` bytes out that the peer acknowledged (tcpi_bytes_acked); the kernel counts a
    FIN (and an active opener's SYN) as one byte.
    """

    cookie: int
    state: ConnectionState
    address: str
    port: int
    bytes_received: int
    bytes_acked: int
