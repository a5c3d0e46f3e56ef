"""Who listens where: read the machine's sockets and owners through one adapter, chosen once per call.

Linux uses netlink and /proc (`_linux`); elsewhere, or when asked with
`backend="portable"` or `PORTSIDE_BACKEND=portable`, psutil does the reading (`_portable`).
Other capabilities read processes and raw sockets through the functions named here,
never through the private adapters.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Iterable, Mapping

from portside._typing import TYPE_CHECKING
from portside.errors import InventoryError, UsageError
from portside.inventory._namespaces import listeners_elsewhere
from portside.inventory._procfs import (
    StatFields,
    ancestry,
    has_procfs,
    process_cwd,
    process_info,
    process_state,
    process_stats,
    stat_of,
)
from portside.inventory.assemble import assemble
from portside.inventory.snapshot import RawSocket, Snapshot, TcpFlow
from portside.model import ConnectionState, Family, ForeignListener, Inventory, Protocol
from portside.net.addresses import host_port

__all__ = [
    "StatFields",
    "ancestry",
    "choose_backend",
    "destroyed_flows",
    "elsewhere_notes",
    "follow",
    "has_procfs",
    "inventory",
    "listeners_elsewhere",
    "process_cwd",
    "process_info",
    "process_state",
    "process_stats",
    "stat_of",
    "take_snapshot",
    "tcp_flows",
    "tcp_sockets_in",
]

if TYPE_CHECKING:
    from portside.inventory._netlink import DestroyedFlows, FlowMemo

BACKENDS = ("linux", "portable")


def choose_backend(requested: str | None = None) -> str:
    """The adapter to use: the one asked for, else linux where /proc exists, else portable."""
    name = requested or os.environ.get("PORTSIDE_BACKEND") or ""
    if name:
        if name not in BACKENDS:
            raise UsageError(f"unknown backend {name!r} (expected one of {', '.join(BACKENDS)})")
        return name
    return "linux" if sys.platform.startswith("linux") and os.path.isdir("/proc/self/fd") else "portable"


def take_snapshot(
    protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP),
    connections: bool = False,
    backend: str | None = None,
) -> Snapshot:
    """One adapter pass over the machine."""
    if choose_backend(backend) == "linux":
        from portside.inventory import _linux as linux

        return linux.snapshot(protocols, connections)
    from portside.inventory import _portable as portable

    return portable.snapshot(protocols, connections)


def inventory(
    protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP),
    connections: bool = False,
    backend: str | None = None,
    namespaces: bool = False,
) -> Inventory:
    """Every listener on this machine (and connections when asked), judged and sorted; containers' ports named;
    with `namespaces`, the TCP listeners of every other network namespace too."""
    from portside.containers import attach, namespace_listeners
    from portside.inventory._users import user_name

    snap = take_snapshot(protocols, connections, backend)
    uids = {sock.uid for sock in snap.sockets if sock.uid is not None}
    found = attach(assemble(snap, {uid: user_name(uid) for uid in uids}), snap, protocols)
    if not namespaces:
        return found
    elsewhere, notes = namespace_listeners()
    return found._replace(namespaces=elsewhere, notes=(*found.notes, *notes))


def follow(protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP), backend: str | None = None
           ) -> Callable[[], Inventory]:
    """A function that takes the inventory anew at each call, for `watch`. On Linux its owner walk
    remembers each process's fds between calls (see _tracker.py: cheap passes, a full walk every 10 s
    or when a new socket's owner is unknown), and when nothing it read changed since the last call it
    returns that call's Inventory again, the same object; elsewhere each call is a whole `inventory`."""
    from portside.inventory._users import user_name

    if choose_backend(backend) != "linux":
        return lambda: inventory(protocols, backend=backend)
    from portside.inventory import _linux as linux
    from portside.inventory._tracker import OwnerTracker

    tracker = OwnerTracker()
    last: list[tuple[Snapshot, dict[int, str], Inventory]] = []

    def take() -> Inventory:
        snap = linux.snapshot(protocols, False, tracker)
        users = {uid: user_name(uid) for uid in {s.uid for s in snap.sockets if s.uid is not None}}
        if last and last[0][0] == snap and last[0][1] == users:
            return last[0][2]  # the same inventory object: callers may compare by identity
        found = assemble(snap, users)
        last[:] = [(snap, users, found)]
        return found

    return take


def tcp_sockets_in(state: ConnectionState) -> tuple[RawSocket, ...]:
    """Every TCP socket of both families in `state` (a TCP state: not UNCONNECTED).

    Raises InventoryError where netlink cannot be read (not Linux, or no sock_diag).
    """
    import socket

    from portside.inventory import _netlink

    found: list[RawSocket] = []
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            found.extend(_netlink.sockets(family, Protocol.TCP, 1 << _netlink.TCP_NUMBERS[state]))
        except OSError as error:
            raise InventoryError(f"cannot read TCP sockets: {error}") from error
    return tuple(found)


def elsewhere_notes(ports: Iterable[int], verb: str = "ls --port") -> tuple[str, ...]:
    """For each of `ports` (that has no listener here) that listens on TCP in another network namespace:
    where, and the `portside VERB PORT` that looks inside."""
    found = ((port, listeners_elsewhere(port)[0]) for port in ports)
    return tuple(elsewhere_note(port, there, verb) for port, there in found if there)


def elsewhere_note(port: int, found: tuple[ForeignListener, ...], verb: str) -> str:
    """Nothing listens on `port` here, but it does in `found`'s namespaces. Pure."""
    where = "; ".join(f"{host_port(f.address, port)} in {f.namespace} (pid {f.pid}, {f.process})" for f in found)
    return (f"nothing listens on port {port} in this network namespace, but TCP {where}; look inside: "
            f"nsenter --net --target {found[0].pid} portside {verb} {port}")


def tcp_flows(ports: Mapping[Family, Collection[int]] | None = None, memo: FlowMemo | None = None) -> list[TcpFlow]:
    """Every TCP connection of both families with a peer (established or closing) and its byte counters;
    with `ports`, only those on the local ports given for their family (a family not given is not read).
    A caller that reads again and again passes the same `memo` (`flow_memo()`): what it kept of the last
    read spares decoding the connections found unchanged. Raises InventoryError where netlink cannot be read."""
    import socket

    from portside.inventory import _netlink

    found: list[TcpFlow] = []
    for family, number in ((Family.IPV4, socket.AF_INET), (Family.IPV6, socket.AF_INET6)):
        wanted = None if ports is None else ports.get(family)
        if ports is not None and not wanted:
            continue
        try:
            found.extend(_netlink.flows(number, wanted, memo))
        except OSError as error:
            raise InventoryError(f"cannot read TCP connections: {error}") from error
    return found


def flow_memo() -> FlowMemo:
    """A memo for `tcp_flows` called again and again (watch, the exporter)."""
    from portside.inventory._netlink import FlowMemo

    return FlowMemo()


def destroyed_flows() -> DestroyedFlows:
    """A subscription to the final counters of TCP connections as the kernel destroys them
    (`drain(ports)` reads what came, `close()` ends it). Raises InventoryError where it cannot be made."""
    from portside.inventory._netlink import DestroyedFlows

    return DestroyedFlows()
