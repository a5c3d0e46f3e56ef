"""What an inventory adapter reads in one pass, before the pure core groups and judges it.

Both adapters (`_linux`, `_portable`) produce these records; `assemble` turns them into the
public `Listener`s and `Connection`s of `portside.model`.
"""

from __future__ import annotations

from typing import NamedTuple

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


class Snapshot(NamedTuple):
    """What an adapter read from the machine in one pass."""

    sockets: tuple[RawSocket, ...]
    owners: dict[int, tuple[int, ...]]
    processes: dict[int, ProcessInfo]
    interfaces: tuple[InterfaceAddress, ...]
    unreadable_pids: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    privileged: bool = False
