"""The sock_diag and rtnetlink decoders: synthetic messages and properties (tests/scenario/test_kernel_tables.py reads the live kernel)."""

from __future__ import annotations

import ipaddress
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.errors import InventoryError
from portside.inventory import _netlink as netlink
from portside.inventory.snapshot import RawSocket
from portside.model import Family, Protocol
from portside.net.netlink import TCP_ESTABLISHED

HDR = struct.Struct("=IHHII")


def diag_message(family: int, state: int, src: str, sport: int, dst: str, dport: int,
                 inode: int, uid: int = 0, v6only: int | None = None, rqueue: int = 0, wqueue: int = 128,
                 extra: bytes = b"") -> bytes:
    width = 4 if family == socket.AF_INET else 16
    raw_src = socket.inet_pton(family, src).ljust(16, b"\0")[:16] if width == 16 else socket.inet_pton(family, src) + bytes(12)
    raw_dst = socket.inet_pton(family, dst) + bytes(16 - width)
    body = struct.pack("=BBBB", family, state, 0, 0) + struct.pack(">HH", sport, dport) + raw_src + raw_dst
    body += struct.pack("=I8sIIIII", 0, bytes(8), 0, rqueue, wqueue, uid, inode)
    body += struct.pack("=HHB3x", 5, 8, 0)  # INET_DIAG_SHUTDOWN, always sent first
    if v6only is not None:
        body += struct.pack("=HHB3x", 5, netlink.INET_DIAG_SKV6ONLY, v6only)
    body += extra
    return HDR.pack(HDR.size + len(body), netlink.SOCK_DIAG_BY_FAMILY, 2, 1, 0) + body


DONE = HDR.pack(HDR.size + 4, netlink.NLMSG_DONE, 2, 1, 0) + bytes(4)


def test_decodes_ipv4_listener() -> None:
    data = diag_message(socket.AF_INET, netlink.TCP_LISTEN, "127.0.0.1", 62893, "0.0.0.0", 0, 4242, 1000) + DONE
    sockets, done = netlink.decode_diag_messages(data, Protocol.TCP)
    assert done
    (sock,) = sockets
    assert sock.family is Family.IPV4
    assert (sock.local.address, sock.local.port, sock.inode, sock.uid) == ("127.0.0.1", 62893, 4242, 1000)
    assert sock.remote is None
    assert sock.v6only is None
    assert (sock.accept_queue, sock.backlog) == (0, 128)


@pytest.mark.parametrize("flag", [0, 1])
def test_decodes_ipv6_v6only_flag(flag: int) -> None:
    data = diag_message(socket.AF_INET6, netlink.TCP_LISTEN, "::", 80, "::", 0, 7, v6only=flag)
    (sock,), done = netlink.decode_diag_messages(data, Protocol.TCP)
    assert not done
    assert sock.local.address == "::"
    assert sock.v6only is bool(flag)


def test_udp_unconnected_and_established_connection() -> None:
    data = (
        diag_message(socket.AF_INET, netlink.TCP_CLOSE, "0.0.0.0", 53, "0.0.0.0", 0, 1)
        + diag_message(socket.AF_INET, TCP_ESTABLISHED, "127.0.0.1", 5000, "127.0.0.1", 41000, 2)
    )
    unconnected, connected = netlink.decode_diag_messages(data, Protocol.UDP)[0]
    assert unconnected.state == "unconnected" and unconnected.remote is None
    assert connected.state == "established" and connected.remote is not None
    assert (connected.remote.address, connected.remote.port) == ("127.0.0.1", 41000)


def test_error_message_raises() -> None:
    data = HDR.pack(HDR.size + 4, netlink.NLMSG_ERROR, 0, 1, 0) + struct.pack("=i", -13)
    with pytest.raises(InventoryError, match="Permission denied"):
        netlink.decode_diag_messages(data, Protocol.TCP)


def test_truncated_message_raises() -> None:
    data = diag_message(socket.AF_INET, netlink.TCP_LISTEN, "127.0.0.1", 1, "0.0.0.0", 0, 1)
    with pytest.raises(InventoryError, match="malformed"):
        netlink.decode_diag_messages(data[:-8], Protocol.TCP)


records = st.tuples(
    st.sampled_from([socket.AF_INET, socket.AF_INET6]),
    st.integers(1, 65535),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.booleans(),
    st.ip_addresses(v=4),
    st.ip_addresses(v=6),
)


@given(st.lists(records, max_size=30))
def test_round_trip_any_listeners(items: list) -> None:  # type: ignore[type-arg]
    data = b"".join(
        diag_message(
            family, netlink.TCP_LISTEN, str(v4 if family == socket.AF_INET else v6), port, "0.0.0.0" if family == socket.AF_INET else "::", 0,
            inode, uid, v6only=int(flag) if family == socket.AF_INET6 else None,
        )
        for family, port, inode, uid, flag, v4, v6 in items
    ) + DONE
    sockets, done = netlink.decode_diag_messages(data, Protocol.TCP)
    assert done
    assert len(sockets) == len(items)
    for sock, (family, port, inode, uid, flag, v4, v6) in zip(sockets, items):
        assert sock.local.port == port and sock.inode == inode and sock.uid == uid
        assert ipaddress.ip_address(sock.local.address) == (v4 if family == socket.AF_INET else v6)
        assert sock.v6only == (flag if family == socket.AF_INET6 else None)


layouts = st.tuples(
    st.sampled_from([socket.AF_INET, socket.AF_INET6]),
    st.sampled_from([netlink.TCP_LISTEN, TCP_ESTABLISHED]),
    st.integers(1, 65535),
    st.sampled_from([None, 0, 1]),
    st.booleans(),
)


@given(st.lists(layouts, max_size=12))
def test_runs_of_one_layout_decode_as_messages_one_by_one(items: list) -> None:  # type: ignore[type-arg]
    """The fast path (a run of messages of the first one's layout) and the fallback agree on any mix of
    families, states, attribute sets and lengths."""
    data = b"".join(
        diag_message(family, state, "127.0.0.1" if family == socket.AF_INET else "::1", port,
                     "127.0.0.2" if family == socket.AF_INET else "::2", 4000, port, v6only=v6only,
                     extra=struct.pack("=HHI", 8, 15, 7) if extra else b"")  # another attribute, as INET_DIAG_MARK
        for family, state, port, v6only, extra in items
    ) + DONE
    reference: list[RawSocket] = []
    assert netlink._DiagReader(Protocol.TCP).one_by_one(data, 0, reference)
    assert netlink.decode_diag_messages(data, Protocol.TCP) == (reference, True)


@given(st.binary(max_size=400))
def test_garbage_never_crashes_with_anything_but_inventory_error(data: bytes) -> None:
    try:
        netlink.decode_diag_messages(data, Protocol.TCP)
        netlink.decode_addr_messages(data)
        netlink.decode_route_messages(data)
    except InventoryError:
        pass




def test_v6only_attribute_cut_short_is_unknown() -> None:
    data = bytearray(diag_message(socket.AF_INET6, netlink.TCP_LISTEN, "::", 80, "::", 0, 7, v6only=1))
    struct.pack_into("=I", data, 0, len(data) - 4)  # the message now ends inside the flag's attribute
    (sock,), _ = netlink.decode_diag_messages(bytes(data[:-4]), Protocol.TCP)
    assert sock.v6only is None


def test_address_message_with_wrong_length_is_skipped() -> None:
    body = struct.pack("=BBBBI", socket.AF_INET, 8, 0, 0, 1) + struct.pack("=HH", 7, netlink.IFA_LOCAL) + b"\x7f\x00\x00" + b"\0"
    data = HDR.pack(HDR.size + len(body), netlink.RTM_NEWADDR, 2, 1, 0) + body
    assert netlink.decode_addr_messages(data) == ([], False)


def route_message(family: int, address: str, prefix: int, *, kind: int = 2, table: int = netlink.RT_TABLE_LOCAL,
                  table_attr: int | None = None, device: int | None = 1) -> bytes:
    """An RTM_NEWROUTE as the kernel sends it: rtmsg, then RTA_TABLE, RTA_DST and RTA_OIF attributes."""
    raw = socket.inet_pton(family, address)
    body = netlink.RTMSG.pack(family, prefix, 0, 0, table, 2, 254, kind, 0)
    if table_attr is not None:
        body += struct.pack("=HHI", 8, netlink.RTA_TABLE, table_attr)
    body += struct.pack("=HH", 4 + len(raw), netlink.RTA_DST) + raw
    if device is not None:
        body += struct.pack("=HHI", 8, netlink.RTA_OIF, device)
    return HDR.pack(HDR.size + len(body), netlink.RTM_NEWROUTE, 2, 1, 0) + body


def test_local_routes_keep_local_broadcast_and_anycast_of_the_local_table() -> None:
    data = b"".join((
        route_message(socket.AF_INET, "127.0.0.0", 8),
        route_message(socket.AF_INET, "192.0.2.255", 32, kind=3, device=2),
        route_message(socket.AF_INET6, "fe80::5", 128, device=2, table_attr=netlink.RT_TABLE_LOCAL),
        route_message(socket.AF_INET6, "2001:db8::", 128, kind=4, device=2),
        route_message(socket.AF_INET6, "ff00::", 8, kind=5, device=2),  # multicast: not an address of this machine
        route_message(socket.AF_INET, "192.0.2.0", 24, kind=1, table=254, device=2),  # unicast, main table
        route_message(socket.AF_INET, "10.0.0.1", 32, table=252, table_attr=1000),  # RTA_TABLE over the 8-bit field
        route_message(socket.AF_INET, "10.0.0.2", 32, device=None),
    )) + DONE
    routes, done = netlink.decode_route_messages(data)
    assert done
    assert [(str(route.network), route.if_index) for route in routes] == [
        ("127.0.0.0/8", 1), ("192.0.2.255/32", 2), ("fe80::5/128", 2), ("2001:db8::/128", 2), ("10.0.0.2/32", 0)]


def test_no_local_table_is_no_local_route() -> None:
    """A namespace whose loopback never came up has no local table: the kernel answers ENOENT."""
    data = HDR.pack(HDR.size + 4, netlink.NLMSG_ERROR, 0, 1, 0) + struct.pack("=i", -2)
    assert netlink.decode_route_messages(data) == ([], True)
    with pytest.raises(InventoryError, match="No such file"):
        netlink.decode_addr_messages(data)


def test_a_route_with_an_impossible_prefix_is_skipped() -> None:
    data = route_message(socket.AF_INET, "10.0.0.1", 33) + route_message(socket.AF_INET, "10.0.0.1", 8)
    routes, _ = netlink.decode_route_messages(data)
    assert [str(route.network) for route in routes] == ["10.0.0.0/8"]


def test_the_route_request_asks_for_the_local_table() -> None:
    request = netlink.encode_getroute_request()
    length, mtype, flags, _, _ = HDR.unpack_from(request)
    assert (length, mtype, flags & netlink.NLM_F_DUMP) == (len(request), netlink.RTM_GETROUTE, netlink.NLM_F_DUMP)
    assert netlink.RTMSG.unpack_from(request, HDR.size)[4] == netlink.RT_TABLE_LOCAL
