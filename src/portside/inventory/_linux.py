"""The Linux adapter: sockets from netlink sock_diag, owners from /proc, addresses and local routes from rtnetlink.

The owner walk starts first (in a forked child, see _owners.py) and overlaps the socket
table; it then keeps only those sockets' inodes, and last come the owners' details.
"""

from __future__ import annotations

import os
import socket

from portside.inventory import _netlink, _owners, _procfs
from portside.inventory._tracker import OwnerTracker
from portside.inventory.snapshot import RawSocket, Snapshot
from portside.model import InterfaceAddress, ProcessInfo, Protocol
from portside.net.netlink import TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN

LISTEN_STATES = 1 << TCP_LISTEN
UDP_BOUND_STATES = 1 << TCP_CLOSE
CONNECTED_STATES = 1 << TCP_ESTABLISHED


def interfaces(names: dict[int, str]) -> tuple[InterfaceAddress, ...]:
    """Every address of every interface in this network namespace; `names` names the interfaces by index."""
    return tuple(
        InterfaceAddress(
            family=_netlink.FAMILY_NAMES[found.family],
            address=found.address,
            interface=found.label or names.get(found.if_index, str(found.if_index)),
            if_index=found.if_index,
        )
        for found in _netlink.interface_addresses()
    )


def raw_sockets(protocols: tuple[Protocol, ...], connections: bool) -> list[RawSocket]:
    """Listening TCP and bound UDP sockets, plus established ones when `connections`."""
    found: list[RawSocket] = []
    for protocol in protocols:
        states = LISTEN_STATES if protocol is Protocol.TCP else UDP_BOUND_STATES
        if connections:
            states |= CONNECTED_STATES
        for family in (socket.AF_INET, socket.AF_INET6):
            found.extend(_netlink.sockets(family, protocol, states))
    return found


def snapshot(
    protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP),
    connections: bool = False,
    tracker: OwnerTracker | None = None,
) -> Snapshot:
    """Read sockets, their owners and the interface addresses in one pass; a `tracker` walks owners
    with what it learned in earlier passes."""
    if tracker is not None:
        sockets = raw_sockets(protocols, connections)
        walk = tracker.walk({sock.inode for sock in sockets})
    else:
        pending = _owners.start()
        sockets = raw_sockets(protocols, connections)
        walk = pending.finish({sock.inode for sock in sockets})
    unreadable = tuple(pid for pid in walk.unreadable if not _procfs.is_kernel_thread(pid))
    wanted_pids = {pid for pids in walk.holders.values() for pid in pids}
    wanted_pids.update(unreadable)
    processes: dict[int, ProcessInfo] = {}
    for pid in sorted(wanted_pids):
        info = _procfs.process_info(pid)
        if info is not None:
            processes[pid] = info
    devices = tuple(socket.if_nameindex())
    return Snapshot(
        sockets=tuple(sockets),
        owners=walk.holders,  # owners that exit before their details are read drop out in assemble
        processes=processes,
        interfaces=interfaces(dict(devices)),
        unreadable_pids=unreadable,
        privileged=os.geteuid() == 0,
        devices=devices,
        local_routes=tuple(_netlink.local_routes()),
    )
