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
from collections.abc import Callable, Iterator
from typing import NamedTuple, TypeVar

from portside.errors import InventoryError
from portside.inventory.snapshot import LocalRoute, RawSocket
from portside.model import ConnectionState, Endpoint, Family, Protocol

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6

NETLINK_ROUTE = 0
NETLINK_SOCK_DIAG = 4
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12

NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
SOCK_DIAG_BY_FAMILY = 20
RTM_GETADDR = 22
RTM_NEWADDR = 20
RTM_GETROUTE = 26
RTM_NEWROUTE = 24

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

TCP_ESTABLISHED = 1
TCP_CLOSE = 7
TCP_LISTEN = 10

TCP_STATES = {
    1: ConnectionState.ESTABLISHED, 2: ConnectionState.SYN_SENT, 3: ConnectionState.SYN_RECV,
    4: ConnectionState.FIN_WAIT_1, 5: ConnectionState.FIN_WAIT_2, 6: ConnectionState.TIME_WAIT,
    7: ConnectionState.CLOSE, 8: ConnectionState.CLOSE_WAIT, 9: ConnectionState.LAST_ACK,
    10: ConnectionState.LISTEN, 11: ConnectionState.CLOSING, 12: ConnectionState.NEW_SYN_RECV,
}
TCP_NUMBERS = {state: number for number, state in TCP_STATES.items()}

NLMSGHDR = struct.Struct("=IHHII")  # len, type, flags, seq, pid
NLMSGERR = struct.Struct("=i")
RTATTR = struct.Struct("=HH")  # len, type
# inet_diag_req_v2: family, protocol, ext, pad, states, then a 48-byte zero sockid.
INET_DIAG_REQ_V2 = struct.Struct("=BBBxI48x")
# inet_diag_msg: family, state, timer, retrans | sport, dport (big-endian) | src, dst |
# interface, cookie | expires, rqueue, wqueue, uid, inode.
# nlmsghdr, then family, state, timer, retrans | sport, dport (big-endian, read as
# native and swapped) | src, dst | interface, cookie | expires, rqueue, wqueue, uid, inode.
DIAG_MESSAGE = struct.Struct("=16xBBxxHH16s16sI8x4xIIII")
NLMSG_LEN_TYPE = struct.Struct("=IH")
# ifaddrmsg: family, prefixlen, flags, scope, index.
IFADDRMSG = struct.Struct("=BBBBI")
# rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
RTMSG = struct.Struct("=BBBBBBBBI")
U32 = struct.Struct("=I")

RECV_BUFFER = 1 << 20

T = TypeVar("T")


class AssignedAddress(NamedTuple):
    """One address assigned to a network interface, as rtnetlink reports it."""

    family: int
    address: str
    if_index: int
    label: str


def _align(n: int) -> int:
    return (n + 3) & ~3


def encode_diag_request(family: int, protocol: int, states: int, seq: int = 1) -> bytes:
    """Request bytes for a sock_diag dump of one family and protocol in `states`."""
    body = INET_DIAG_REQ_V2.pack(family, protocol, 0, states)
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
    while offset + 4 <= end:
        length, atype = RTATTR.unpack_from(data, offset)
        if length < 4:
            return None
        if atype == INET_DIAG_SKV6ONLY and length >= 5 and offset + 5 <= end:
            return bool(data[offset + 4])
        offset += (length + 3) & ~3
    return None


def decode_diag_messages(data: bytes | memoryview, protocol: Protocol) -> tuple[list[RawSocket], bool]:
    """Decode one buffer of sock_diag replies; returns the sockets and whether DONE came.

    One `struct` call reads each message's fixed part; ports arrive big-endian among
    native fields and are swapped by hand. This loop is the inventory's hot path.
    """
    found: list[RawSocket] = []
    append = found.append
    caches = {AF_INET: _AddressCache(AF_INET), AF_INET6: _AddressCache(AF_INET6)}
    families = {AF_INET: Family.IPV4, AF_INET6: Family.IPV6}
    states = dict(TCP_STATES)
    bound_state = TCP_LISTEN
    if protocol is Protocol.UDP:
        states[TCP_CLOSE] = ConnectionState.UNCONNECTED
        bound_state = TCP_CLOSE
    is_tcp = protocol is Protocol.TCP
    bound_name = states[bound_state]
    unpack = DIAG_MESSAGE.unpack_from
    header = NLMSG_LEN_TYPE.unpack_from
    fixed = DIAG_MESSAGE.size
    offset = 0
    end = len(data)
    while offset + 16 <= end:
        length, mtype = header(data, offset)
        if length < 16 or offset + length > end:
            raise InventoryError(f"malformed netlink message (length {length})")
        if mtype == SOCK_DIAG_BY_FAMILY and length >= fixed:
            family, state, sport, dport, src, dst, interface, rqueue, wqueue, uid, inode = unpack(data, offset)
            cache = caches.get(family)
            if cache is not None:
                v6only = _v6only(data, offset + fixed, offset + length) if family == AF_INET6 else None
                local = Endpoint(cache[src], ((sport & 0xFF) << 8) | (sport >> 8))
                if state == bound_state:
                    append(
                        RawSocket(
                            protocol, families[family], bound_name, local, None, inode, uid, v6only, interface,
                            rqueue if is_tcp else None, wqueue if is_tcp else None,
                        )
                    )
                elif state in states:  # the kernel sends only the states asked for; a newer one is left out
                    remote = Endpoint(cache[dst], ((dport & 0xFF) << 8) | (dport >> 8))
                    append(
                        RawSocket(
                            protocol, families[family], states[state], local, remote, inode, uid,
                            v6only, interface, None, None,
                        )
                    )
        elif mtype == NLMSG_DONE:
            return found, True
        elif mtype == NLMSG_ERROR:
            (code,) = NLMSGERR.unpack_from(data, offset + 16)
            if code:
                raise InventoryError(f"netlink error: {os.strerror(-code)}")
        offset += (length + 3) & ~3
    return found, False


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
        while True:
            chunk = sock.recv(RECV_BUFFER)
            if not chunk:
                raise InventoryError("netlink dump ended without NLMSG_DONE")
            decoded, done = decode(chunk)
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
