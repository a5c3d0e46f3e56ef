"""Netlink sock_diag and rtnetlink: the kernel's socket table, interface addresses and local routes.

Strategy (after pyroute2): message layouts are declared as `struct.Struct` tables,
`encode_*` builds request bytes and `decode_*` turns reply bytes into records — both
pure, tested against recorded dumps — and `dump()` is the one function that talks to
the kernel. sock_diag is used rather than /proc/net/tcp because it is several times
faster at 10k sockets and it reports IPV6_V6ONLY, which /proc/net/tcp6 does not show.
The routing table `local` is what the kernel delivers to this machine (its addresses, all
of 127.0.0.0/8, broadcast and AnyIP routes): a socket bound outside it is reached by nothing.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from collections.abc import Callable, Collection, Iterator
from functools import lru_cache
from itertools import compress
from operator import ne

from portside._typing import TYPE_CHECKING, NamedTuple
from portside.errors import InventoryError
from portside.inventory.snapshot import LocalRoute, RawSocket, TcpFlow
from portside.model import ConnectionState, Endpoint, Family, Protocol
from portside.net.netlink import (
    DIAG_MESSAGE,
    NETLINK_SOCK_DIAG,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSGERR,
    NLMSGHDR,
    SOCK_DIAG_BY_FAMILY,
    TCP_CLOSE,
    TCP_LISTEN,
)

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12

RTM_GETADDR = 22
RTM_NEWADDR = 20
RTM_GETROUTE = 26
RTM_NEWROUTE = 24

INET_DIAG_INFO = 2
INET_DIAG_SKV6ONLY = 11
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_LABEL = 3
RTA_DST = 1
RTA_OIF = 4
RTA_TABLE = 15
RT_TABLE_LOCAL = 255
# Route types through which the kernel takes a packet as its own: local, broadcast, anycast.
DELIVERED_HERE = frozenset({2, 3, 4})


TCP_STATES = {
    1: ConnectionState.ESTABLISHED, 2: ConnectionState.SYN_SENT, 3: ConnectionState.SYN_RECV,
    4: ConnectionState.FIN_WAIT_1, 5: ConnectionState.FIN_WAIT_2, 6: ConnectionState.TIME_WAIT,
    7: ConnectionState.CLOSE, 8: ConnectionState.CLOSE_WAIT, 9: ConnectionState.LAST_ACK,
    10: ConnectionState.LISTEN, 11: ConnectionState.CLOSING, 12: ConnectionState.NEW_SYN_RECV,
}
TCP_NUMBERS = {state: number for number, state in TCP_STATES.items()}

RTATTR = struct.Struct("=HH")  # len, type
# inet_diag_req_v2: family, protocol, ext, pad, states, then a 48-byte zero sockid.
INET_DIAG_REQ_V2 = struct.Struct("=BBBxI48x")
NLMSG_LEN_TYPE = struct.Struct("=IH")
FAMILY_NAMES: dict[int, Family] = {AF_INET: Family.IPV4, AF_INET6: Family.IPV6}
# ifaddrmsg: family, prefixlen, flags, scope, index.
IFADDRMSG = struct.Struct("=BBBBI")
# rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
RTMSG = struct.Struct("=BBBBBBBBI")
U32 = struct.Struct("=I")

RECV_BUFFER = 1 << 20

if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")


class AssignedAddress(NamedTuple):
    """One address assigned to a network interface, as rtnetlink reports it."""

    family: int
    address: str
    if_index: int
    label: str


def _align(n: int) -> int:
    return (n + 3) & ~3


def encode_diag_request(family: int, protocol: int, states: int, seq: int = 1, ext: int = 0) -> bytes:
    """Request bytes for a sock_diag dump of one family and protocol in `states`; `ext` asks for
    extensions (a bit mask of 1 << (INET_DIAG_x - 1))."""
    body = INET_DIAG_REQ_V2.pack(family, protocol, ext, states)
    flags = NLM_F_REQUEST | NLM_F_DUMP
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), SOCK_DIAG_BY_FAMILY, flags, seq, 0) + body


def encode_getaddr_request(seq: int = 1) -> bytes:
    """Request bytes for an rtnetlink dump of every interface address."""
    body = IFADDRMSG.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    flags = NLM_F_REQUEST | NLM_F_DUMP
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), RTM_GETADDR, flags, seq, 0) + body


def encode_getroute_request(seq: int = 1) -> bytes:
    """Request bytes for an rtnetlink dump of the local table's routes of both families.

    A kernel that checks dump requests strictly (NETLINK_GET_STRICT_CHK, Linux 4.20) sends
    only that table; an older one sends every route, and decoding keeps the local ones.
    """
    body = RTMSG.pack(socket.AF_UNSPEC, 0, 0, 0, RT_TABLE_LOCAL, 0, 0, 0, 0)
    flags = NLM_F_REQUEST | NLM_F_DUMP
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), RTM_GETROUTE, flags, seq, 0) + body


def iter_messages(data: bytes | memoryview, absent: int = 0) -> Iterator[tuple[int, memoryview]]:
    """Yield (type, payload) for each netlink message in one received buffer.

    Raises InventoryError for an NLMSG_ERROR with a non-zero code, and stops at
    NLMSG_DONE by yielding it so the caller knows the dump is complete. The error
    code `absent` (an errno) means "nothing to dump" and ends the dump the same way.
    """
    view = memoryview(data)
    offset = 0
    end = len(view)
    while offset + NLMSGHDR.size <= end:
        length, mtype, _flags, _seq, _pid = NLMSGHDR.unpack_from(view, offset)
        if length < NLMSGHDR.size or offset + length > end:
            raise InventoryError(f"malformed netlink message (length {length})")
        payload = view[offset + NLMSGHDR.size : offset + length]
        if mtype == NLMSG_ERROR:
            (code,) = NLMSGERR.unpack_from(payload, 0)
            if code and -code == absent:
                yield NLMSG_DONE, payload
                return
            if code:
                raise InventoryError(f"netlink error: {os.strerror(-code)}")
        yield mtype, payload
        offset += _align(length)


def _attributes(payload: memoryview, start: int) -> Iterator[tuple[int, memoryview]]:
    offset = start
    end = len(payload)
    while offset + RTATTR.size <= end:
        length, atype = RTATTR.unpack_from(payload, offset)
        if length < RTATTR.size:
            break
        yield atype, payload[offset + RTATTR.size : offset + length]
        offset += _align(length)


class _AddressCache(dict[bytes, str]):
    """Raw address bytes -> text; most sockets of a dump share a handful of addresses."""

    def __init__(self, family: int) -> None:
        super().__init__()
        self.family = family
        self.width = 4 if family == socket.AF_INET else 16

    def __missing__(self, raw: bytes) -> str:
        text = socket.inet_ntop(self.family, raw[: self.width])
        self[raw] = text
        return text


def _v6only(data: bytes | memoryview, offset: int, end: int) -> bool | None:
    at = _attribute_at(data, offset, end, INET_DIAG_SKV6ONLY)
    return None if at < 0 else bool(data[at + 4])


def decode_diag_messages(data: bytes | memoryview, protocol: Protocol) -> tuple[list[RawSocket], bool]:
    """Decode one buffer of sock_diag replies; returns the sockets and whether DONE came.

    This is the inventory's hot path. A dump's buffer is mostly messages of one length and one
    layout: that run is read by one `struct.iter_unpack` (`_diag_uniform`), each message checked
    against the layout; what does not fit is read message by message (`_diag_one_by_one`).
    Ports arrive big-endian among native fields and are swapped by hand.
    """
    found: list[RawSocket] = []
    reader = _DiagReader(protocol)
    offset = reader.uniform(data, found)
    return found, reader.one_by_one(data, offset, found)


@lru_cache(maxsize=8)
def _diag_layout(length: int, at: int) -> str:
    """A whole sock_diag message of `length` bytes read with the attribute header and first payload byte
    found `at` bytes after the fixed part: the fixed fields of DIAG_MESSAGE, alen, atype, that byte."""
    rest = length - DIAG_MESSAGE.size - at - 5
    return f"=IH10xBBxxHH16s16sI8x4xIIII{at}xHHB{rest}x"


class _DiagReader:
    """What decoding one protocol's sock_diag messages needs: state names and an address cache per family."""

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self.caches: dict[int, _AddressCache] = {AF_INET: _AddressCache(AF_INET), AF_INET6: _AddressCache(AF_INET6)}
        self.states = dict(TCP_STATES)
        self.bound_state = TCP_LISTEN
        if protocol is Protocol.UDP:
            self.states[TCP_CLOSE] = ConnectionState.UNCONNECTED
            self.bound_state = TCP_CLOSE
        self.is_tcp = protocol is Protocol.TCP

    def uniform(self, data: bytes | memoryview, found: list[RawSocket]) -> int:
        """Read the leading run of messages sharing the first one's length, family and attribute at the
        place the first one has it (IPV6_V6ONLY for IPv6, the first attribute for IPv4); where it ends."""
        fixed = DIAG_MESSAGE.size
        end = len(data)
        if end < fixed:
            return 0
        length, mtype = NLMSG_LEN_TYPE.unpack_from(data, 0)
        family = data[16]
        if mtype != SOCK_DIAG_BY_FAMILY or length > end or length % 4 or family not in self.caches:
            return 0
        at = _attribute_at(data, fixed, length, INET_DIAG_SKV6ONLY if family == AF_INET6 else None)
        if at < 0:
            return 0
        known = RTATTR.unpack_from(data, at)
        protocol, cache, states = self.protocol, self.caches[family], self.states
        name = FAMILY_NAMES[family]
        is_v6, is_tcp = family == AF_INET6, self.is_tcp
        bound_state = self.bound_state
        bound_name = states[bound_state]
        append = found.append
        new = tuple.__new__
        read = 0
        for (size, kind, fam, state, sport, dport, src, dst, interface, rqueue, wqueue, uid, inode, alen, atype,
             first) in struct.iter_unpack(_diag_layout(length, at - fixed), memoryview(data)[: end // length * length]):
            if size != length or kind != SOCK_DIAG_BY_FAMILY or fam != family or (alen, atype) != known:
                break
            read += length
            local = new(Endpoint, (cache[src], ((sport & 0xFF) << 8) | (sport >> 8)))
            v6only = bool(first) if is_v6 else None
            if state == bound_state:
                append(new(RawSocket, (protocol, name, bound_name, local, None, inode, uid, v6only, interface,
                                       rqueue if is_tcp else None, wqueue if is_tcp else None)))
            elif state in states:  # the kernel sends only the states asked for; a newer one is left out
                remote = new(Endpoint, (cache[dst], ((dport & 0xFF) << 8) | (dport >> 8)))
                append(new(RawSocket, (protocol, name, states[state], local, remote, inode, uid, v6only, interface,
                                       None, None)))
        return read

    def one_by_one(self, data: bytes | memoryview, offset: int, found: list[RawSocket]) -> bool:
        """Read messages from `offset` each by its own layout; whether DONE came."""
        append = found.append
        protocol, caches, states, is_tcp = self.protocol, self.caches, self.states, self.is_tcp
        bound_state = self.bound_state
        fixed = DIAG_MESSAGE.size
        end = len(data)
        while offset + 16 <= end:
            length, mtype = NLMSG_LEN_TYPE.unpack_from(data, offset)
            if length < 16 or offset + length > end:
                raise InventoryError(f"malformed netlink message (length {length})")
            if mtype == SOCK_DIAG_BY_FAMILY and length >= fixed:
                family, state, sport, dport, src, dst, interface, rqueue, wqueue, uid, inode = DIAG_MESSAGE.unpack_from(
                    data, offset)
                cache = caches.get(family)
                if cache is not None:
                    v6only = _v6only(data, offset + fixed, offset + length) if family == AF_INET6 else None
                    local = Endpoint(cache[src], ((sport & 0xFF) << 8) | (sport >> 8))
                    if state == bound_state:
                        append(RawSocket(protocol, FAMILY_NAMES[family], states[state], local, None, inode, uid,
                                         v6only, interface, rqueue if is_tcp else None, wqueue if is_tcp else None))
                    elif state in states:  # the kernel sends only the states asked for; a newer one is left out
                        remote = Endpoint(cache[dst], ((dport & 0xFF) << 8) | (dport >> 8))
                        append(RawSocket(protocol, FAMILY_NAMES[family], states[state], local, remote, inode, uid,
                                         v6only, interface, None, None))
            elif _ends(data, offset, mtype):
                return True
            offset += (length + 3) & ~3
        return False


def _attribute_at(data: bytes | memoryview, offset: int, end: int, wanted: int | None, payload: int = 1) -> int:
    """Where the attribute of type `wanted` (the first one when None) starts, with at least `payload` bytes of it
    within `end`; -1 when there is none."""
    while offset + 4 <= end:
        length, atype = RTATTR.unpack_from(data, offset)
        if length < 4:
            return -1
        if wanted is None or atype == wanted:
            return offset if length >= 4 + payload and offset + 4 + payload <= end else -1
        offset += (length + 3) & ~3
    return -1


def _ends(data: bytes | memoryview, offset: int, mtype: int) -> bool:
    """Whether the message at `offset` of type `mtype` ends the dump (NLMSG_DONE); InventoryError when it is an
    NLMSG_ERROR with a code."""
    if mtype == NLMSG_ERROR:
        (code,) = NLMSGERR.unpack_from(data, offset + NLMSGHDR.size)
        if code:
            raise InventoryError(f"netlink error: {os.strerror(-code)}")
    return mtype == NLMSG_DONE


def decode_addr_messages(data: bytes | memoryview) -> tuple[list[AssignedAddress], bool]:
    """Decode one buffer of RTM_NEWADDR replies; returns the addresses and whether DONE came."""
    found: list[AssignedAddress] = []
    for mtype, payload in iter_messages(data):
        if mtype == NLMSG_DONE:
            return found, True
        if mtype != RTM_NEWADDR or len(payload) < IFADDRMSG.size:
            continue
        family, _prefixlen, _flags, _scope, index = IFADDRMSG.unpack_from(payload, 0)
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        attrs = dict(_attributes(payload, IFADDRMSG.size))
        # IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on
        # point-to-point links, so prefer IFA_LOCAL when both are present.
        raw = attrs.get(IFA_LOCAL, attrs.get(IFA_ADDRESS))
        if raw is None or len(raw) != (4 if family == socket.AF_INET else 16):
            continue
        label = bytes(attrs[IFA_LABEL]).split(b"\0", 1)[0].decode() if IFA_LABEL in attrs else ""
        found.append(AssignedAddress(family, socket.inet_ntop(family, bytes(raw)), index, label))
    return found, False


def decode_route_messages(data: bytes | memoryview) -> tuple[list[LocalRoute], bool]:
    """Decode one buffer of RTM_NEWROUTE replies, keeping the local table's local, broadcast and anycast routes.

    A namespace whose loopback was never up has no local table at all: ENOENT, no routes.
    """
    found: list[LocalRoute] = []
    for mtype, payload in iter_messages(data, absent=errno.ENOENT):
        if mtype == NLMSG_DONE:
            return found, True
        if mtype != RTM_NEWROUTE or len(payload) < RTMSG.size:
            continue
        family, prefix, _src, _tos, table, _proto, _scope, kind, _flags = RTMSG.unpack_from(payload, 0)
        if family not in (socket.AF_INET, socket.AF_INET6) or kind not in DELIVERED_HERE:
            continue
        attrs = dict(_attributes(payload, RTMSG.size))
        if RTA_TABLE in attrs and len(attrs[RTA_TABLE]) >= U32.size:
            (table,) = U32.unpack_from(attrs[RTA_TABLE], 0)
        raw = attrs.get(RTA_DST)
        width = 4 if family == socket.AF_INET else 16
        if table != RT_TABLE_LOCAL or raw is None or len(raw) != width or prefix > 8 * width:
            continue
        oif = attrs.get(RTA_OIF)
        index = U32.unpack_from(oif, 0)[0] if oif is not None and len(oif) >= U32.size else 0
        found.append(LocalRoute(ipaddress.ip_network(f"{socket.inet_ntop(family, bytes(raw))}/{prefix}", strict=False), index))
    return found, False


def _dump(protocol: int, request: bytes, decode: Callable[[bytes], tuple[list[T], bool]], strict: bool = False,
          ) -> list[T]:
    """Send one dump request and decode the replies as they arrive, up to NLMSG_DONE."""
    if not hasattr(socket, "AF_NETLINK"):
        raise InventoryError("netlink is not available: it is Linux-only")
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol)
    except OSError as error:
        raise InventoryError(f"netlink is not available: {error.strerror}") from error
    found: list[T] = []
    with sock:
        if strict:
            try:
                sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
            except OSError:
                pass  # an older kernel: the whole dump comes, and the decoder filters it
        sock.sendall(request)
        # Read into one buffer: recv(RECV_BUFFER) would allocate and shrink a buffer that large at every read.
        buffer = bytearray(RECV_BUFFER)
        view = memoryview(buffer)
        while True:
            size = sock.recv_into(buffer)
            if not size:
                raise InventoryError("netlink dump ended without NLMSG_DONE")
            decoded, done = decode(bytes(view[:size]))
            found.extend(decoded)
            if done:
                return found


def sockets(family: int, protocol: Protocol, states: int) -> list[RawSocket]:
    """Every socket of `family`/`protocol` whose state is in the `states` bit mask."""
    number = socket.IPPROTO_TCP if protocol is Protocol.TCP else socket.IPPROTO_UDP
    request = encode_diag_request(family, number, states)
    return _dump(NETLINK_SOCK_DIAG, request, lambda chunk: decode_diag_messages(chunk, protocol))


def interface_addresses() -> list[AssignedAddress]:
    """Every IPv4 and IPv6 address of every interface in this network namespace."""
    return _dump(NETLINK_ROUTE, encode_getaddr_request(), decode_addr_messages)


def local_routes() -> list[LocalRoute]:
    """The local table's routes of both families in this network namespace: what the kernel delivers here."""
    return _dump(NETLINK_ROUTE, encode_getroute_request(), decode_route_messages, strict=True)


# Connection counters: sock_diag's INET_DIAG_INFO extension carries `struct tcp_info` (linux/tcp.h),
# whose tcpi_bytes_acked and tcpi_bytes_received (Linux 4.1+) sit at offsets 120 and 128.
INFO_EXT = 1 << (INET_DIAG_INFO - 1)
TCP_INFO_BYTES = struct.Struct("=120xQQ")
# nlmsghdr, then family, state, timer, retrans | sport (big-endian) | src | interface,
# cookie (two native u32, read as one native u64) | expires, rqueue, wqueue, uid, inode.
FLOW_MESSAGE = struct.Struct("=16xBBxxH2x16s16x4xQ20x")
# Every state in which a TCP socket still has counters and a peer: the ones a closing connection passes.
FLOW_STATES = sum(1 << number for number in (1, 4, 5, 8, 9, 11))
# sock_diag's multicast groups of destroyed TCP sockets (SKNLGRP_INET_TCP_DESTROY = 1, INET6 = 3), as bind bits.
DESTROY_GROUPS = (1 << 0) | (1 << 2)
SO_RCVBUFFORCE = 33
DESTROY_BUFFER = 4 << 20

# The kernel's socket filter (linux/inet_diag.h): ops of 4 bytes (code, yes, no: the steps to take on
# true and on false); a port comparison carries its port in a second op. A dump sends a socket when
# the program ends exactly at its end, and drops it when a jump lands 4 bytes beyond. S_EQ: Linux 4.16+.
INET_DIAG_REQ_BYTECODE = 1
BC_OP = struct.Struct("=BBH")
BC_JMP, BC_S_LE, BC_S_EQ = 1, 3, 11
BC_LEAF = 4  # ports compared one by one at the bottom of the search tree
# The kernel's check of a filter costs the square of its length (2 ms a family at 16 kB, 1,100 ports; 8 ms
# at 28 kB): past this many bytes no filter is sent, and the decoder alone keeps the ports asked for.
BC_MAX = 16384


@lru_cache(maxsize=4)
def port_filter(ports: frozenset[int]) -> bytes | None:
    """Bytecode that passes the sockets whose local port is in `ports`: a binary search over them.

    The kernel checks that every op is reached by stepping on "true" from the first, so true always
    steps to the next op and every branch is a jump on "false": a tree node is "port <= the left
    half's last" (false jumps to the right half); a leaf tests its ports in turn, each hit followed
    by a jump to the end (pass), its last miss jumping past the end (drop). The kernel's check costs
    the square of the program's length, hence the short leaves. None for no ports, or more than BC_MAX.
    """
    wanted = sorted(ports)
    if not wanted:
        return None
    ops: list[tuple[int, int, str]] = []  # (code, port, where "false" goes); code 0 marks a label

    def emit(low: int, high: int) -> None:
        if high - low <= BC_LEAF:
            for index in range(low, high):
                ops.append((0, 0, f"p{index}"))
                ops.append((BC_S_EQ, wanted[index], f"p{index + 1}" if index + 1 < high else "drop"))
                ops.append((BC_JMP, 0, "end"))
            return
        middle = (low + high) // 2
        ops.append((BC_S_LE, wanted[middle - 1], f"n{middle}-{high}"))
        emit(low, middle)
        ops.append((0, 0, f"n{middle}-{high}"))
        emit(middle, high)

    emit(0, len(wanted))
    labels: dict[str, int] = {}
    size = 0
    for code, _port, target in ops:
        if code == 0:
            labels[target] = size
        else:
            size += 4 if code == BC_JMP else 8
    if size > BC_MAX:
        return None
    labels["end"], labels["drop"] = size, size + 4
    program = bytearray()
    for code, port, target in ops:
        if code == BC_JMP:
            program += BC_OP.pack(BC_JMP, 4, labels[target] - len(program))
        elif code:
            program += BC_OP.pack(code, 8, labels[target] - len(program)) + BC_OP.pack(0, 0, port)
    return bytes(program)


def decode_flow_messages(
    data: bytes | memoryview, ports: Collection[int] | None = None
) -> tuple[list[TcpFlow], bool]:
    """Decode one buffer of sock_diag replies (or destroy notices) asked with INFO_EXT into flows.

    Only sockets whose local port is in `ports` are kept (all when None)."""
    made, done = _decode_flows(data, ports, [], [], [])
    return [flow for flow in made if flow is not None], done


Row = tuple[int, int, int, int, int, bytes, int, int, int, int, int]


class FlowMemo:
    """One caller's last dump of connections per family, place by place: the rows as read (the fields
    of a message that make its flow) and the flow made of each (None: not kept).

    Between two samples most connections are idle and the kernel lists them in the same order (its
    hash table's), so `flows` compares each row with the row at its place last time, in C, and
    decodes only rows that differ; an equal row gives the same flow object again. That leaves the
    kernel's own work as most of a sample's cost (watch, 10,000 connections).
    """

    def __init__(self) -> None:
        self.last: dict[int, tuple[frozenset[int] | None, list[Row | None], list[TcpFlow | None]]] = {}


def _decode_flows(data: bytes | memoryview, ports: Collection[int] | None, before: list[Row | None],
                  made_before: list[TcpFlow | None], rows: list[Row | None]) -> tuple[list[TcpFlow | None], bool]:
    """The flows of one buffer, place by place (None: not kept), its rows appended to `rows`; whether DONE came.

    A dump's usual buffer — messages of one length and one layout — is read by one
    `struct.iter_unpack`; rows that equal the row at their place in `before` (the same dump's rows
    last time, `rows` so far giving the place) take their flow from `made_before`, the others are
    checked against the layout and decoded. What does not fit is read message by message."""
    start = len(rows)
    made: list[TcpFlow | None] = []
    offset = 0
    found = _run(data)
    if found is not None:
        layout, length, known = found
        count = len(data) // length
        read: list[Row] = list(layout.iter_unpack(memoryview(data)[: count * length]))
        old = before[start : start + count]
        made = made_before[start : start + len(old)]
        made.extend([None] * (count - len(made)))
        changed = list(compress(range(len(old)), map(ne, read, old)))
        changed.extend(range(len(old), count))
        caches: dict[int, _AddressCache] = {AF_INET: _AddressCache(AF_INET), AF_INET6: _AddressCache(AF_INET6)}
        states, closed, new = TCP_STATES, ConnectionState.CLOSE, tuple.__new__
        for at in changed:
            size, kind, family, state, sport, src, cookie, alen, atype, acked, received = read[at]
            if size != length or kind != SOCK_DIAG_BY_FAMILY or (alen, atype) != known:
                count = at
                break
            cache = caches.get(family)
            port = ((sport & 0xFF) << 8) | (sport >> 8)
            if cache is None or (ports is not None and port not in ports):
                made[at] = None
            else:
                made[at] = new(TcpFlow, (cookie, states.get(state, closed), cache[src], port, received, acked))
        del read[count:], made[count:]
        rows.extend(read)
        offset = count * length
    rest: list[TcpFlow] = []
    done = _one_by_one(data, offset, ports, rest)
    rows.extend([None] * len(rest))  # read one by one: never taken from the memo
    made.extend(rest)
    return made, done


@lru_cache(maxsize=8)
def _layout(length: int, info: int) -> struct.Struct:
    """A whole message of `length` bytes whose INFO attribute starts `info` bytes after the fixed part:
    length, type, family, state, sport, src, cookie, the attribute's length and type, acked, received."""
    rest = length - FLOW_MESSAGE.size - info - 4 - TCP_INFO_BYTES.size
    return struct.Struct(f"=IH10xBBxxH2x16s16x4xQ20x{info}xHH120xQQ{rest}x")


def _run(data: bytes | memoryview) -> tuple[struct.Struct, int, tuple[int, int]] | None:
    """The layout of the buffer's first message, its length and its INFO attribute's length and type;
    None when it is not a sock_diag message with counters."""
    end = len(data)
    fixed = FLOW_MESSAGE.size
    if end < fixed:
        return None
    length, mtype = NLMSG_LEN_TYPE.unpack_from(data, 0)
    if mtype != SOCK_DIAG_BY_FAMILY or length < fixed or length > end or length % 4:
        return None
    at = _attribute_at(data, fixed, length, INET_DIAG_INFO, TCP_INFO_BYTES.size)
    if at < 0:
        return None
    return _layout(length, at - fixed), length, RTATTR.unpack_from(data, at)


def _one_by_one(data: bytes | memoryview, offset: int, ports: Collection[int] | None, found: list[TcpFlow]) -> bool:
    """Read messages from `offset` each by its own layout; whether DONE came."""
    append = found.append
    caches = {AF_INET: _AddressCache(AF_INET), AF_INET6: _AddressCache(AF_INET6)}
    fixed = FLOW_MESSAGE.size
    end = len(data)
    while offset + 16 <= end:
        length, mtype = NLMSG_LEN_TYPE.unpack_from(data, offset)
        if length < 16 or offset + length > end:
            raise InventoryError(f"malformed netlink message (length {length})")
        if mtype == SOCK_DIAG_BY_FAMILY and length >= fixed:
            family, state, sport, src, cookie = FLOW_MESSAGE.unpack_from(data, offset)
            cache = caches.get(family)
            port = ((sport & 0xFF) << 8) | (sport >> 8)
            at = _attribute_at(data, offset + fixed, offset + length, INET_DIAG_INFO, TCP_INFO_BYTES.size)
            if cache is not None and (ports is None or port in ports) and at >= 0:
                acked, received = TCP_INFO_BYTES.unpack_from(data, at + 4)
                append(TcpFlow(cookie, TCP_STATES.get(state, ConnectionState.CLOSE), cache[src], port, received,
                               acked))
        elif _ends(data, offset, mtype):
            return True
        offset += (length + 3) & ~3
    return False


def encode_flow_request(family: int, ports: Collection[int] | None) -> bytes:
    """A dump of `family`'s TCP connections with INFO, filtered in the kernel to local `ports` when they fit."""
    request = encode_diag_request(family, socket.IPPROTO_TCP, FLOW_STATES, ext=INFO_EXT)
    program = None if ports is None else port_filter(frozenset(ports))
    if program is None:
        return request
    attribute = RTATTR.pack(4 + len(program), INET_DIAG_REQ_BYTECODE) + program
    return NLMSGHDR.pack(len(request) + len(attribute), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + (
        request[NLMSGHDR.size:] + attribute)


def flows(family: int, ports: Collection[int] | None = None, memo: FlowMemo | None = None) -> list[TcpFlow]:
    """Every TCP connection of `family` with a peer (established or closing) and its byte counters,
    of the local `ports` only when given; with a `memo`, rows seen at the same place in the last dump
    (of the same ports) are not decoded again."""
    if ports is not None and not ports:
        return []
    wanted = None if ports is None else frozenset(ports)
    memo = memo if memo is not None else FlowMemo()
    asked, before, made_before = memo.last.get(family, (None, [], []))
    if asked != wanted:
        before, made_before = [], []
    rows: list[Row | None] = []
    made = _dump(NETLINK_SOCK_DIAG, encode_flow_request(family, wanted),
                 lambda chunk: _decode_flows(chunk, wanted, before, made_before, rows))
    memo.last[family] = (wanted, rows, made)
    return [flow for flow in made if flow is not None]


class DestroyedFlows:
    """A subscription to the kernel's broadcast of destroyed TCP sockets, each with its final counters.

    sock_diag multicasts a message with INET_DIAG_INFO whenever a TCP socket is freed (Linux 4.10+),
    so bytes a connection moved after the last dump and before it closed are still seen. The kernel
    drops broadcasts when the receive buffer is full; `lost` counts the times it did.
    """

    def __init__(self) -> None:
        if not hasattr(socket, "AF_NETLINK"):
            raise InventoryError("netlink is not available: it is Linux-only")
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_NONBLOCK, NETLINK_SOCK_DIAG)
        except OSError as error:
            raise InventoryError(f"netlink is not available: {error.strerror}") from error
        try:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, DESTROY_BUFFER)
            except PermissionError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, DESTROY_BUFFER)
            sock.bind((0, DESTROY_GROUPS))
        except OSError as error:
            sock.close()
            raise InventoryError(f"cannot follow closing connections: {error.strerror}") from error
        self.sock = sock
        self.buffer = bytearray(RECV_BUFFER)
        self.lost = 0

    def drain(self, ports: Collection[int] | None = None) -> list[TcpFlow]:
        """The flows destroyed since the last call (on local `ports` only, when given); never blocks."""
        found: list[TcpFlow] = []
        view = memoryview(self.buffer)
        while True:
            try:
                size = self.sock.recv_into(self.buffer)
            except BlockingIOError:
                return found
            except OSError as error:
                if error.errno == errno.ENOBUFS:
                    self.lost += 1
                    continue
                raise InventoryError(f"cannot follow closing connections: {error.strerror}") from error
            found.extend(decode_flow_messages(view[:size], ports)[0])

    def close(self) -> None:
        self.sock.close()
