"""The sock_diag flow decoder: connections with INET_DIAG_INFO's byte counters, from synthetic replies."""

from __future__ import annotations

import contextlib
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.errors import InventoryError
from portside.inventory import _netlink as netlink

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
    assert first == (2**40 + 7, "established", "127.0.0.1", 8000, 10_000_001, 12)
    assert (second.state, second.address, second.port, second.bytes_received, second.bytes_acked) == (
        "close-wait", "::ffff:127.0.0.1", 8000, 4, 3)


def test_only_the_ports_asked_for() -> None:
    data = b"".join(flow_message(socket.AF_INET, 1, "127.0.0.1", port, "127.0.0.1", 40000, port, tcp_info(1, 1))
                    for port in (8000, 41000, 9000))
    flows, done = netlink.decode_flow_messages(data, {8000, 9000})
    assert not done
    assert [item.port for item in flows] == [8000, 9000]


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


def test_a_layout_change_within_one_buffer_is_followed() -> None:
    """The INFO attribute is looked for where the last one was; a message laid out otherwise is searched."""
    v4 = flow_message(socket.AF_INET, 1, "127.0.0.1", 8000, "127.0.0.1", 1, 1, tcp_info(1, 10))
    v6 = flow_message(socket.AF_INET6, 1, "::1", 8000, "::1", 2, 2, tcp_info(2, 20))  # one attribute more
    flows, _ = netlink.decode_flow_messages(v4 + v6 + v4 + v6)
    assert [(item.cookie, item.bytes_received) for item in flows] == [(1, 10), (2, 20), (1, 10), (2, 20)]


@given(st.binary(max_size=600))
def test_garbage_never_crashes_with_anything_but_inventory_error(data: bytes) -> None:
    with contextlib.suppress(InventoryError):
        netlink.decode_flow_messages(data)


def run_filter(program: bytes, port: int) -> bool:
    """The kernel's inet_diag_bc_run (net/ipv4/inet_diag.c) for the ops port_filter uses."""
    offset, left = 0, len(program)
    while left > 0:
        code, yes, no = netlink.BC_OP.unpack_from(program, offset)
        if code == netlink.BC_JMP:
            passed = False
        else:
            (_, _, value) = netlink.BC_OP.unpack_from(program, offset + 4)
            passed = port == value if code == netlink.BC_S_EQ else port <= value
        step = yes if passed else no
        offset, left = offset + step, left - step
    return left == 0


def audit(program: bytes) -> bool:
    """The kernel's inet_diag_bc_audit: the checks a filter must pass before a dump runs it."""
    def reachable(target: int) -> bool:  # valid_cc: on the chain of "true" steps from the start
        offset, left = 0, len(program)
        while left >= 0:
            if target > left:
                return False
            if target == left:
                return True
            _, yes, _ = netlink.BC_OP.unpack_from(program, offset)
            if yes < 4 or yes % 4:
                return False
            offset, left = offset + yes, left - yes
        return False

    offset, left = 0, len(program)
    while left > 0:
        code, yes, no = netlink.BC_OP.unpack_from(program, offset)
        least = 8 if code in (netlink.BC_S_EQ, netlink.BC_S_LE) else 4
        if least == 8 and left < 8:
            return False
        if no < least or no > left + 4 or no % 4 or (no < left and not reachable(left - no)):
            return False
        if yes < least or yes > left + 4 or yes % 4:
            return False
        offset, left = offset + yes, left - yes
    return left == 0


@given(st.sets(st.integers(1, 65535), min_size=1, max_size=300), st.lists(st.integers(0, 65535), max_size=50))
def test_the_port_filter_passes_exactly_its_ports(ports: set[int], others: list[int]) -> None:
    program = netlink.port_filter(frozenset(ports))
    assert program is not None and audit(program)
    for port in [*ports, *others, 0, 65535]:
        assert run_filter(program, port) == (port in ports)


def test_a_filter_too_long_for_16_bit_jumps_is_not_made() -> None:
    assert netlink.port_filter(frozenset(range(1, 6000))) is None
    assert netlink.port_filter(frozenset()) is None
    request = netlink.encode_flow_request(socket.AF_INET, {8000})
    assert struct.unpack_from("=I", request)[0] == len(request)
    assert struct.unpack_from("=HH", request, HDR.size + 56) == (4 + 12, netlink.INET_DIAG_REQ_BYTECODE)


Conn = tuple[int, int, int, int, int]  # cookie, family, port, received, state


def message_of(conn: Conn) -> bytes:
    cookie, family, port, received, state = conn
    src = "127.0.0.1" if family == socket.AF_INET else "::1"
    return flow_message(family, state, src, port, src, 40000, cookie, tcp_info(7, received))


def read_dump(buffers: list[bytes], ports: frozenset[int] | None, memo: tuple[list, list]) -> tuple[list, list, list]:
    """What `flows` does with a dump's buffers: decode each, the memo giving last time's rows and flows."""
    rows: list = []
    made: list = []
    for data in buffers:
        made.extend(netlink._decode_flows(data, ports, memo[0], memo[1], rows)[0])
    return rows, made, [flow for flow in made if flow is not None]


connections = st.lists(st.tuples(st.integers(1, 40), st.sampled_from([socket.AF_INET, socket.AF_INET6]),
                                 st.sampled_from([8000, 8001, 8002]), st.integers(0, 3), st.sampled_from([1, 8])),
                       max_size=12, unique_by=lambda conn: conn[0])


@given(connections, st.sampled_from([None, frozenset({8000, 8002})]), st.data())
def test_a_memo_never_changes_what_a_dump_decodes_to(conns: list[Conn], ports: frozenset[int] | None,
                                                     data: st.DataObject) -> None:
    """Successive dumps (connections come, go, move and change counters between them; IPv4 and IPv6 messages,
    whose layouts differ; buffers cut anywhere between messages): decoded with the last dump's memo, each gives
    what a fresh decode gives, and rows found again at their place give the very same flow objects."""
    memo: tuple[list, list] = ([], [])
    for _ in range(data.draw(st.integers(1, 4))):
        messages = [message_of(conn) for conn in conns]
        points = sorted(data.draw(st.lists(st.integers(0, len(messages)), max_size=4)))
        buffers = [b"".join(messages[a:b]) for a, b in zip([0, *points], [*points, len(messages)], strict=True)]
        rows, made, flows = read_dump([buffer for buffer in buffers if buffer] + [DONE], ports, memo)
        assert flows == read_dump([b"".join(messages), DONE], ports, ([], []))[2]
        again = [at for at, row in enumerate(rows[: len(memo[0])]) if row is not None and row == memo[0][at]]
        assert all(made[at] is memo[1][at] for at in again)
        memo = (rows, made)
        changed = data.draw(st.lists(st.integers(0, max(0, len(conns) - 1)), max_size=3)) if conns else []
        conns = [(cookie, family, port, received + (at in changed), state)
                 for at, (cookie, family, port, received, state) in enumerate(conns)]
        if conns and data.draw(st.booleans()):
            del conns[data.draw(st.integers(0, len(conns) - 1))]
        conns.extend(data.draw(st.lists(st.tuples(st.integers(41, 60), st.sampled_from([socket.AF_INET]),
                                                  st.sampled_from([8000, 8002]), st.integers(0, 3), st.just(1)),
                                        max_size=2, unique_by=lambda conn: conn[0])))
        conns = list({conn[0]: conn for conn in conns}.values())


def test_a_dump_found_again_is_not_decoded_again() -> None:
    conns = [(cookie, socket.AF_INET, 8000, cookie, 1) for cookie in range(1, 30)]
    buffers = [b"".join(message_of(conn) for conn in conns[:17]), b"".join(message_of(conn) for conn in conns[17:]),
               DONE]
    rows, made, first = read_dump(buffers, None, ([], []))
    again = read_dump(buffers, None, (rows, made))[2]
    assert again == first and all(a is b for a, b in zip(again, first, strict=True))
    moved = read_dump([buffers[0][:-len(message_of(conns[16]))], buffers[1], DONE], None, (rows, made))[2]
    assert moved == first[:16] + first[17:] and all(a is b for a, b in zip(moved[:16], first[:16], strict=True))
