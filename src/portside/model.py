"""The data portside passes around: frozen, typed, and turned into JSON in one place.

Adapters produce `RawSocket`s, `InterfaceAddress`es and `ProcessInfo`s; the pure core
(`portside.inventory.build`) turns them into `Listener`s and `Connection`s with their
exposure judged. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"


class Family(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"


class Exposure(StrEnum):
    """Who can reach a listener: this machine only, one interface's network, or every network."""

    LOOPBACK = "loopback"
    INTERFACE = "interface"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Endpoint:
    address: str
    port: int


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A process as /proc (or psutil) describes it; `start_ticks` pins its identity."""

    pid: int
    name: str
    cmdline: tuple[str, ...]
    user: str | None
    uid: int | None
    ppid: int | None
    start_ticks: int | None
    start_time: float | None


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    """An address of this machine, on the interface named `interface`."""

    family: Family
    address: str
    interface: str
    index: int


@dataclass(frozen=True, slots=True)
class RawSocket:
    """One socket as an adapter reads it, before it is grouped and judged."""

    protocol: Protocol
    family: Family
    state: str
    local: Endpoint
    remote: Endpoint | None
    inode: int
    uid: int | None
    v6only: bool | None
    bound_interface: int = 0
    accept_queue: int | None = None
    backlog: int | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What an adapter read from the machine in one pass."""

    sockets: tuple[RawSocket, ...]
    owners: dict[int, tuple[int, ...]]
    processes: dict[int, ProcessInfo]
    interfaces: tuple[InterfaceAddress, ...]
    unreadable_pids: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()
    backend: str = "linux"
    privileged: bool = False


@dataclass(frozen=True, slots=True)
class Listener:
    """A bound address and port that accepts traffic, with every process holding it.

    Several sockets on one address and port (SO_REUSEPORT) are one listener with all
    their owners; `inodes` keeps each socket's identity.
    """

    protocol: Protocol
    family: Family
    address: str
    port: int
    dual_stack: bool
    exposure: Exposure
    reachable_on: tuple[str, ...]
    processes: tuple[ProcessInfo, ...]
    inodes: tuple[int, ...]
    socket_users: tuple[str, ...] = ()
    accept_queue: int | None = None
    backlog: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Connection:
    """An established TCP connection, or a connected UDP socket, with its owners."""

    protocol: Protocol
    family: Family
    state: str
    local: Endpoint
    remote: Endpoint
    processes: tuple[ProcessInfo, ...]
    inode: int


@dataclass(frozen=True, slots=True)
class Inventory:
    """The machine's listeners (sorted by port), optional connections, and what was hidden."""

    listeners: tuple[Listener, ...]
    connections: tuple[Connection, ...] = ()
    notes: tuple[str, ...] = field(default=())
