"""The data portside passes around: immutable, typed, and turned into JSON in one place.

Records are `NamedTuple`s (as psutil's): immutable like frozen dataclasses, but five
times cheaper to build — a busy machine has tens of thousands of sockets — and without
the import of `dataclasses`, which alone would double `ls --json`'s start-up time.

These are the records of the public API. What the inventory's adapters read before it is
judged (`RawSocket`, `Snapshot`) lives with them in `portside.inventory.snapshot`.
Nothing here does I/O.
"""

from __future__ import annotations

from enum import StrEnum

from portside._typing import NamedTuple


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


class ConnectionState(StrEnum):
    """A socket's state as the kernel names it (TCP's states, in `ss`'s spelling), or a UDP socket's."""

    ESTABLISHED = "established"
    SYN_SENT = "syn-sent"
    SYN_RECV = "syn-recv"
    FIN_WAIT_1 = "fin-wait-1"
    FIN_WAIT_2 = "fin-wait-2"
    TIME_WAIT = "time-wait"
    CLOSE = "close"
    CLOSE_WAIT = "close-wait"
    LAST_ACK = "last-ack"
    LISTEN = "listen"
    CLOSING = "closing"
    NEW_SYN_RECV = "new-syn-recv"
    UNCONNECTED = "unconnected"


class TcpOutcome(StrEnum):
    """How a TCP connect ended: a handshake; a reset (nothing listens, or a firewall REJECT);
    no answer in time (a firewall DROP, or a full accept queue); an ICMP error (no route)."""

    CONNECTED = "connected"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"


class RouteKind(StrEnum):
    """A `run` route lives while its `portside run` does; an `alias` until it is removed."""

    RUN = "run"
    ALIAS = "alias"


class Engine(StrEnum):
    """The container engine behind a published port."""

    DOCKER = "docker"
    PODMAN = "podman"


class ContainerSource(StrEnum):
    """Where portside learnt which container a port belongs to, best first.

    The engine's API; its state files; a stand-in's argv (docker-proxy's addresses, conmon's
    `-c ID -n NAME`); the container's cgroup; a DNAT rule to the container's address.
    """

    API = "api"
    STATE_FILE = "state-file"
    ARGV = "argv"
    CGROUP = "cgroup"
    DNAT = "dnat"


class Endpoint(NamedTuple):
    address: str
    port: int


class ProcessInfo(NamedTuple):
    """A process as /proc (or psutil) describes it; `start_ticks` pins its identity."""

    pid: int
    name: str
    cmdline: tuple[str, ...]
    user: str | None
    uid: int | None
    ppid: int | None
    start_ticks: int | None
    start_time: float | None


class InterfaceAddress(NamedTuple):
    """An address of this machine, on the interface named `interface`."""

    family: Family
    address: str
    interface: str
    if_index: int


class Container(NamedTuple):
    """The container a published port leads to, as far as it could be seen.

    `stand_in` is the process holding the host port for the engine (docker-proxy, conmon,
    rootlessport), None when the port exists only as a DNAT rule. `processes` are the
    container's own processes listening on `container_port`; `inside` the addresses that port
    listens on inside the container (empty: nothing listens there; None: not readable), and
    `inside_ports` every TCP port that listens inside it.
    """

    engine: Engine
    id: str | None
    name: str | None
    image: str | None
    container_port: int | None
    container_address: str | None
    state: str | None
    stand_in: str | None
    source: ContainerSource
    processes: tuple[ProcessInfo, ...] = ()
    inside: tuple[str, ...] | None = None
    inside_ports: tuple[int, ...] | None = None


class Listener(NamedTuple):
    """A bound address and port that accepts traffic, with every process holding it.

    Several sockets on one address and port (SO_REUSEPORT) are one listener with all
    their owners; `inodes` keeps each socket's identity. `container` names the container a
    published port leads to; such a port may have no socket at all (no inodes, no owners)
    when an engine forwards it by a DNAT rule alone.
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
    container: Container | None = None


class ForeignListener(NamedTuple):
    """A TCP listener in another network namespace (a container, `ip netns`), with the process holding it (or one
    living there when the holder cannot be seen) and the container it is in, if any."""

    namespace: str
    address: str
    port: int
    pid: int
    process: str
    container: Container | None = None


class Connection(NamedTuple):
    """An established TCP connection, or a connected UDP socket, with its owners."""

    protocol: Protocol
    family: Family
    state: ConnectionState
    local: Endpoint
    remote: Endpoint
    processes: tuple[ProcessInfo, ...]
    inode: int


class Inventory(NamedTuple):
    """The machine's listeners (sorted by port), optional connections, what was hidden, and (when asked) the TCP
    listeners of every other network namespace."""

    listeners: tuple[Listener, ...]
    connections: tuple[Connection, ...] = ()
    notes: tuple[str, ...] = ()
    namespaces: tuple[ForeignListener, ...] = ()


class Lease(NamedTuple):
    """A port handed to an owner process until released, until the owner exits, or until it expires.

    The owner is a pid pinned by its start time (`owner_start`, kernel clock ticks), so a
    recycled pid never keeps a dead owner's lease alive.
    """

    port: int
    protocol: Protocol
    name: str | None
    owner_pid: int
    owner_start: int
    created: float
    expires: float | None


class LeaseState(NamedTuple):
    """A lease as `leases` reports it: with whether its owner still runs."""

    lease: Lease
    alive: bool


class Route(NamedTuple):
    """NAME.localhost -> 127.0.0.1:port. A `run` route lives while its owner does; an `alias` until removed."""

    name: str
    port: int
    kind: RouteKind
    owner_pid: int | None
    owner_start: int | None
    created: float


class Severity(StrEnum):
    FAULT = "fault"
    WARNING = "warning"
    INFO = "info"


class Finding(NamedTuple):
    """One conclusion of `doctor`: a stable code, how bad, what was seen, and the fix."""

    code: str
    severity: Severity
    observed: str
    fix: str


class Holder(NamedTuple):
    """A process holding a port, with what `who` shows of it: working directory and parent chain."""

    process: ProcessInfo
    cwd: str | None
    parents: tuple[ProcessInfo, ...]


class WhoReport(NamedTuple):
    """Who holds a target: the listeners it names, their owners in detail, and the clients connected.

    `listeners` is empty when nothing holds it; `holders` has one entry per owning pid.
    """

    target: str
    port: int
    listeners: tuple[Listener, ...]
    holders: tuple[Holder, ...]
    connections: tuple[Connection, ...]
    notes: tuple[str, ...] = ()


class KillReport(NamedTuple):
    """What `kill` did: whom it meant to signal, what it sent, who outlived it, and whether the port is free.

    `dry_run` reports only `victims` (and `containers`); a port that was free from the start has no victims and
    `freed` true. `containers` are the containers behind the port: stopped through their engines with
    `kill --container`, else only named (ContainerHeld carries such a report).
    """

    target: str
    port: int
    victims: tuple[ProcessInfo, ...]
    signalled: tuple[tuple[ProcessInfo, str], ...]
    survivors: tuple[ProcessInfo, ...]
    vanished: tuple[ProcessInfo, ...]
    freed: bool
    dry_run: bool = False
    declined: bool = False
    containers: tuple[Container, ...] = ()
