"""The sock_diag flow decoder: connections with INET_DIAG_INFO's byte counters, from synthetic replies."""

from __future__ import annotations

import socket
import struct

import pytest

from portside.errors import InventoryError
from portside.inventory import _netlink as netlink
from portside.model import Family

HDR = struct.Struct("=IHHII")


def attribute(kind: int, payload: bytes) -> bytes:
    return struct.pack("=HH", 4 + len(payload), kind) + payload + bytes(-len(payload) % 4)


def tcp_info(acked: int, received: int, size: int = 232) -> bytes:
    info = bytearray(size)
    struct.pack_into("=QQ", info, 120, acked, received)
    return bytes(info)


def flow_message(family: int, state: int, src: str, sport: int, dst: str, dport: int, cookie: int,
                 info: bytes | None, mtype: int = netlink.SOCK_DIAG_BY_FAMILY) -> bytes:
    width = 4 if family == socket.AF_INET else 16
    raw_src = socket.inet_pton(family, src) + bytes(16 - width)
    raw_dst = socket.inet_pton(family, dst) + bytes(16 - width)
    body = struct.pack("=BBBB", family, state, 0, 0) + struct.pack(">HH", sport, dport) + raw_src + raw_dst
    body += struct.pack("=IQIIIII", 0, cookie, 0, 0, 0, 0, 4242)
    body += attribute(8, b"\0")  # INET_DIAG_SHUTDOWN comes first
    if family == socket.AF_INET6:
        body += attribute(netlink.INET_DIAG_SKV6ONLY, b"\0")
    if info is not None:
        body += attribute(netlink.INET_DIAG_INFO, info)
    return HDR.pack(HDR.size + len(body), mtype, 2, 1, 0) + body


DONE = HDR.pack(HDR.size + 4, netlink.NLMSG_DONE, 2, 1, 0) + bytes(4)


def test_decodes_counters_cookie_and_endpoints() -> None:
    data = (flow_message(socket.AF_INET, 1, "127.0.0.1", 8000, "127.0.0.1", 41000, 2**40 + 7, tcp_info(12, 10_000_001))
            + flow_message(socket.AF_INET6, 8, "::ffff:127.0.0.1", 8000, "::ffff:127.0.0.1", 41001, 9, tcp_info(3, 4))
            + DONE)
    (first, second), done = netlink.decode_flow_messages(data)
    assert done
    assert (first.cookie, first.family, first.state, first.local, first.remote) == (
        2**40 + 7, Family.IPV4, "established", ("127.0.0.1", 8000), ("127.0.0.1", 41000))
    assert (first.bytes_received, first.bytes_acked) == (10_000_001, 12)
    assert (second.family, second.state, second.local.address, second.bytes_received) == (
        Family.IPV6, "close-wait", "::ffff:127.0.0.1", 4)


def test_only_the_ports_asked_for() -> None:
    data = b"".join(flow_message(socket.AF_INET, 1, "127.0.0.1", port, "127.0.0.1", 40000, port, tcp_info(1, 1))
                    for port in (8000, 41000, 9000))
    flows, done = netlink.decode_flow_messages(data, {8000, 9000})
    assert not done
    assert [item.local.port for item in flows] == [8000, 9000]


@pytest.mark.parametrize("info", [None, bytes(100)], ids=["no INFO", "INFO too short (before 4.1)"])
def test_a_connection_without_counters_is_left_out(info: bytes | None) -> None:
    assert netlink.decode_flow_messages(flow_message(socket.AF_INET, 1, "127.0.0.1", 1, "127.0.0.1", 2, 3, info)) == (
        [], False)


def test_a_destroy_notice_has_state_close() -> None:
    data = flow_message(socket.AF_INET, 7, "127.0.0.1", 8000, "127.0.0.1", 41000, 5, tcp_info(1, 99))
    ((notice,), _) = netlink.decode_flow_messages(data)
    assert notice.state == "close" and notice.bytes_received == 99


def test_request_asks_for_the_info_extension() -> None:
    request = netlink.encode_diag_request(socket.AF_INET, socket.IPPROTO_TCP, netlink.FLOW_STATES, ext=netlink.INFO_EXT)
    family, protocol, ext, states = struct.unpack_from("=BBBxI", request, HDR.size)
    assert (family, protocol, ext, states) == (socket.AF_INET, socket.IPPROTO_TCP, 2, netlink.FLOW_STATES)
    assert netlink.encode_diag_request(socket.AF_INET, socket.IPPROTO_TCP, 1)[HDR.size + 2] == 0


def test_errors_and_truncation_raise() -> None:
    with pytest.raises(InventoryError, match="Permission denied"):
        netlink.decode_flow_messages(HDR.pack(HDR.size + 4, netlink.NLMSG_ERROR, 0, 1, 0) + struct.pack("=i", -13))
    whole = flow_message(socket.AF_INET, 1, "127.0.0.1", 1, "127.0.0.1", 2, 3, tcp_info(1, 1))
    with pytest.raises(InventoryError, match="malformed"):
        netlink.decode_flow_messages(whole[:-8])
