"""assemble(): one hand-built Snapshot in, the Inventory out — grouping, owners, exposure, hidden owners, notes."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from records import process

from portside.inventory.assemble import assemble
from portside.inventory.snapshot import LocalRoute, RawSocket, Snapshot
from portside.model import Endpoint, Exposure, Family, InterfaceAddress, Listener, Protocol

INTERFACES = (
    InterfaceAddress(Family.IPV4, "127.0.0.1", "lo", 1),
    InterfaceAddress(Family.IPV6, "::1", "lo", 1),
    InterfaceAddress(Family.IPV4, "192.0.2.2", "eth0", 2),
    InterfaceAddress(Family.IPV6, "fd00::2", "eth0", 2),
)
USERS = {0: "root", 1000: "dev"}
INIT, WEB, WORKER, DB = process(1, "init", user="root", uid=0), process(4100, "node"), process(4101, "node"), \
    process(4200, "postgres")
PROCESSES = {p.pid: p for p in (INIT, WEB, WORKER, DB)}


def sock(address: str, port: int, inode: int, *, protocol: Protocol = Protocol.TCP, uid: int | None = 1000,
         v6only: bool | None = None, remote: tuple[str, int] | None = None, queue: int | None = None,
         backlog: int | None = None) -> RawSocket:
    family = Family.IPV6 if ":" in address else Family.IPV4
    state = "LISTEN" if remote is None and protocol is Protocol.TCP else ("ESTABLISHED" if remote else "CLOSE")
    return RawSocket(protocol, family, state, Endpoint(address, port), Endpoint(*remote) if remote else None, inode,
                     uid, v6only, 0, queue, backlog)


def snapshot(*sockets: RawSocket, owners: dict[int, tuple[int, ...]] | None = None, **fields: Any) -> Snapshot:
    return Snapshot(sockets, owners or {}, PROCESSES, INTERFACES, **fields)


def test_one_socket_one_owner() -> None:
    found = assemble(snapshot(sock("127.0.0.1", 5432, 11), owners={11: (4200,)}), USERS)
    assert found.listeners == (Listener(
        Protocol.TCP, Family.IPV4, "127.0.0.1", 5432, dual_stack=False, exposure=Exposure.LOOPBACK,
        reachable_on=("127.0.0.1",), processes=(DB,), inodes=(11,), socket_users=("dev",), accept_queue=None,
        backlog=None, note=None),)
    assert found.connections == () and found.notes == ()


def test_reuseport_sockets_are_one_listener_with_every_owner() -> None:
    found = assemble(snapshot(
        sock("127.0.0.1", 3000, 22, queue=2, backlog=511), sock("127.0.0.1", 3000, 21, uid=0, queue=3, backlog=511),
        owners={21: (4100,), 22: (4101,)},
    ), USERS)
    (group,) = found.listeners
    assert group.processes == (WEB, WORKER) and group.inodes == (21, 22)
    assert group.socket_users == ("dev", "root") and group.accept_queue == 5 and group.backlog == 511


def test_a_forked_socket_lists_parent_and_child_once_each() -> None:
    found = assemble(snapshot(sock("0.0.0.0", 8080, 31), owners={31: (4100, 4101)}), USERS)
    (shared,) = found.listeners
    assert shared.processes == (WEB, WORKER) and shared.inodes == (31,)
    assert shared.exposure is Exposure.ALL and shared.reachable_on == ("127.0.0.1", "192.0.2.2")


@pytest.mark.parametrize(("v6only", "dual", "reachable"), [
    (False, True, ("127.0.0.1", "::1", "192.0.2.2", "fd00::2")),
    (True, False, ("::1", "fd00::2")),
])
def test_ipv6_wildcard_dual_stack_or_not(v6only: bool, dual: bool, reachable: tuple[str, ...]) -> None:
    (wild,) = assemble(snapshot(sock("::", 8000, 41, v6only=v6only), owners={41: (4100,)}), USERS).listeners
    assert (wild.family, wild.exposure, wild.dual_stack, wild.reachable_on) == (Family.IPV6, Exposure.ALL, dual,
                                                                              reachable)


def test_listeners_are_ordered_by_port_protocol_family_address() -> None:
    found = assemble(snapshot(
        sock("::", 53, 5, protocol=Protocol.UDP), sock("127.0.0.1", 80, 4), sock("::1", 53, 3),
        sock("127.0.0.53", 53, 2, protocol=Protocol.UDP), sock("127.0.0.1", 53, 1),
    ), USERS)
    assert [(item.port, item.protocol, item.address) for item in found.listeners] == [
        (53, Protocol.TCP, "127.0.0.1"), (53, Protocol.TCP, "::1"), (53, Protocol.UDP, "127.0.0.53"),
        (53, Protocol.UDP, "::"), (80, Protocol.TCP, "127.0.0.1"),
    ]


def test_connections_with_their_owners_apart_from_listeners() -> None:
    found = assemble(snapshot(
        sock("127.0.0.1", 5432, 11), sock("127.0.0.1", 5432, 13, remote=("127.0.0.1", 50002)),
        sock("127.0.0.1", 50002, 14, remote=("127.0.0.1", 5432)), sock("127.0.0.1", 5432, 12,
                                                                        remote=("127.0.0.1", 50001)),
        owners={11: (4200,), 12: (4200,), 13: (4200,), 14: (4100,)},
    ), USERS)
    assert [item.inodes for item in found.listeners] == [(11,)]
    assert [(c.local.port, c.remote.port, c.processes, c.inode) for c in found.connections] == [
        (5432, 50001, (DB,), 12), (5432, 50002, (DB,), 13), (50002, 5432, (WEB,), 14),
    ]


@pytest.mark.parametrize(("fields", "note"), [
    ({}, "owner not visible: no process in this PID namespace holds it (a container or another namespace)"),
    ({"unreadable_pids": (1,)}, "owner not visible: the open files of pid 1 (init) could not be read"),
    ({"unreadable_pids": (1, 4100)}, "owner not visible: the open files of 2 processes could not be read"),
])
def test_a_socket_without_a_visible_owner_stays_listed_with_a_note(fields: dict[str, Any], note: str) -> None:
    found = assemble(snapshot(sock("127.0.0.1", 9000, 51, uid=0), sock("::1", 9000, 52), owners={52: (4100,)},
                              **fields), USERS)
    hidden, seen = found.listeners
    assert (hidden.processes, hidden.note, hidden.socket_users) == ((), note, ("root",))
    assert seen.processes == (WEB,) and seen.note is None


def test_hidden_owners_share_one_note_whoever_owns_the_socket() -> None:
    """The same words for every hidden owner, so front ends group them; whose sockets they are is socket_users."""
    found = assemble(snapshot(sock("127.0.0.1", 1, 61, uid=4242), sock("127.0.0.1", 2, 62, uid=0),
                              sock("127.0.0.1", 3, 63, uid=None)), USERS)
    assert len({item.note for item in found.listeners}) == 1
    assert [item.socket_users for item in found.listeners] == [("4242",), ("root",), ()]


@pytest.mark.parametrize(("unreadable", "privileged", "note"), [
    ((1,), True, ("could not read the open files of 1 process (pid 1 (init)): sockets they hold show no owner; "
                 "access was denied even to root (a protected process, such as a sandbox's init)")),
    ((1, 4100), False, ("could not read the open files of 2 processes (pid 1 (init), pid 4100 (node)): sockets they "
                       "hold show no owner; run as root (or as their user) to see them")),
    ((1, 2, 3, 4, 5, 6, 7), False, ("could not read the open files of 7 processes (pid 1 (init), pid 2, pid 3, pid 4, "
                                   "pid 5 and 2 more)")),
])
def test_unreadable_processes_are_one_note_after_the_adapters_own(unreadable: tuple[int, ...], privileged: bool,
                                                                  note: str) -> None:
    found = assemble(snapshot(notes=("portable backend: no connections",), unreadable_pids=unreadable,
                              privileged=privileged), USERS)
    first, second = found.notes
    assert first == "portable backend: no connections" and second.startswith(note)


def test_nothing_hidden_adds_no_note() -> None:
    found = assemble(snapshot(sock("127.0.0.1", 1, 61), owners={61: (4100,)}, notes=("as read",)), USERS)
    assert found.notes == ("as read",)


ROUTES = (LocalRoute(ipaddress.ip_network("127.0.0.0/8"), 1), LocalRoute(ipaddress.ip_network("::1/128"), 1),
          LocalRoute(ipaddress.ip_network("192.0.2.2/32"), 2), LocalRoute(ipaddress.ip_network("fd00::2/128"), 2),
          LocalRoute(ipaddress.ip_network("fe80::5/128"), 2))
DEVICES = ((1, "lo"), (2, "eth0"), (3, "eth1"))


def bound(address: str, port: int, inode: int, device: int, remote: tuple[str, int] | None = None) -> RawSocket:
    return sock(address, port, inode, v6only=True, remote=remote)._replace(bound_interface=device)


def test_a_link_local_address_gets_the_zone_of_its_device_on_listeners_and_connections() -> None:
    found = assemble(snapshot(
        bound("fe80::5", 80, 71, 2), bound("fe80::5", 80, 72, 3), bound("fd00::2", 80, 73, 2),
        bound("fe80::5", 80, 74, 2, remote=("fe80::9", 50000)), bound("fe80::5", 81, 75, 9),
        devices=DEVICES, local_routes=ROUTES,
    ), USERS)
    assert [(item.address, item.reachable_on) for item in found.listeners] == [
        ("fd00::2", ("fd00::2",)), ("fe80::5%eth0", ("fe80::5%eth0",)), ("fe80::5%eth1", ()), ("fe80::5%9", ())]
    (conn,) = found.connections
    assert (conn.local.address, conn.remote.address) == ("fe80::5%eth0", "fe80::9%eth0")


def test_an_address_no_interface_holds_is_reachable_on_nothing_with_a_note() -> None:
    found = assemble(snapshot(sock("198.51.100.7", 80, 81), sock("192.0.2.2", 80, 82), sock("127.0.0.9", 80, 83),
                              owners={81: (4100,)}, local_routes=ROUTES), USERS)
    assert [(item.address, item.reachable_on) for item in found.listeners] == [
        ("127.0.0.9", ("127.0.0.9",)), ("192.0.2.2", ("192.0.2.2",)), ("198.51.100.7", ())]
    gone = found.listeners[2]
    assert gone.note is not None and gone.note.startswith("no interface that is up holds 198.51.100.7")
    hidden = found.listeners[1]
    assert hidden.note is not None and "; " not in hidden.note


def test_a_hidden_owner_on_an_address_no_interface_holds_has_both_notes() -> None:
    (item,) = assemble(snapshot(sock("198.51.100.7", 80, 81), local_routes=ROUTES), USERS).listeners
    assert item.note is not None and item.note.startswith("owner not visible: ")
    assert "; no interface that is up holds 198.51.100.7" in item.note
