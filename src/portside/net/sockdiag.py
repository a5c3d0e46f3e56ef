"""One TCP socket looked up in the kernel's tables by its addresses: sock_diag's exact match, not a dump.

A request names local and remote address and port (an inet_diag_req_v2 without NLM_F_DUMP),
and the kernel answers with the one socket a packet of that connection would be delivered
to, found the way the TCP stack finds it: the established table first, then the listeners
(a wildcard or dual-stack listener included). So, without a connect and without reading
every socket on a busy machine:
  - `listener(address, port)`: would a connect to ADDRESS:PORT find a listening socket?
    (`wait` asks this every few milliseconds through `Lookups`: the same request bytes sent
    again and the answers read into one buffer, nothing decoded when nothing is there);
  - `server_side(...)` of an open connection: its state and inode, and an inode of 0 means
    the server has not accepted it yet (`doctor` asks this of a silent port).
The kernel does not know about packet filters, NAT or BPF socket lookup: callers confirm
what matters with a real connect. Linux only; OSError where sock_diag is not available.
"""

from __future__ import annotations

import errno
import socket
import struct

from portside._typing import NamedTuple
from portside.net.netlink import (
    DIAG_MESSAGE,
    NETLINK_SOCK_DIAG,
    NLM_F_REQUEST,
    NLMSG_ERROR,
    NLMSGHDR,
    SOCK_DIAG_BY_FAMILY,
)

ALL_STATES = 0xFFFFFFFF
NO_COOKIE = 0xFFFFFFFF  # INET_DIAG_NOCOOKIE: match whatever socket the addresses name

# After the nlmsghdr, inet_diag_req_v2 (family, protocol, ext, pad, states), then inet_diag_sockid:
# sport, dport (big-endian), src, dst (16 bytes each), interface, cookie (2 words).
REQUEST = struct.Struct("=BBBxI")
PORTS = struct.Struct("!HH")
TAIL = struct.Struct("=III")
REQUEST_SIZE = NLMSGHDR.size + REQUEST.size + PORTS.size + 32 + TAIL.size
# An answer's kind and, for NLMSG_ERROR, its code (0: an ack, -ENOENT: no such socket).
ANSWER = struct.Struct("=4xH10xi")
BATCH = 64  # requests sent in one message (each answer copies its request: ~300 overflow 208 KiB)


class Found(NamedTuple):
    """The socket the kernel found: its TCP state number (10: listening) and inode (0: no process holds it yet)."""

    state: int
    inode: int


def _packed(address: str) -> tuple[int, bytes]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return family, socket.inet_pton(family, address).ljust(16, b"\0")


class SockDiag:
    """An open NETLINK_SOCK_DIAG socket for exact lookups; close it when done."""

    def __init__(self) -> None:
        netlink = getattr(socket, "AF_NETLINK", None)
        if netlink is None:  # macOS, Windows: the callers fall back to what they did before
            raise OSError(errno.EAFNOSUPPORT, "sock_diag is Linux-only")
        self.sock = socket.socket(netlink, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def request(self, local: str, local_port: int, remote: str | None = None, remote_port: int = 0,
                interface: int = 0) -> bytes:
        """The request for the TCP socket with these addresses (remote None: the listener a connect would find),
        as a packet arriving on `interface` (an index; 0: any) would find it."""
        family, source = _packed(local)
        _, destination = _packed(remote) if remote is not None else (family, bytes(16))
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return b"".join((
            NLMSGHDR.pack(REQUEST_SIZE, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, self.seq, 0),
            REQUEST.pack(family, socket.IPPROTO_TCP, 0, ALL_STATES),
            PORTS.pack(local_port, remote_port), source, destination,
            TAIL.pack(interface, NO_COOKIE, NO_COOKIE),
        ))

    def ask(self, requests: list[bytes]) -> list[Found | None]:
        """Send `requests` (BATCH to a message) and read one answer each, in order: the socket found, or None."""
        answers: list[Found | None] = []
        for message, count in _batched(requests):
            self.sock.send(message)
            for _ in range(count):
                data = self.sock.recv(4096)
                if _found(data):
                    fields = DIAG_MESSAGE.unpack_from(data)
                    answers.append(Found(fields[1], fields[-1]))
                else:
                    answers.append(None)
        return answers

    def lookups(self, requests: list[bytes]) -> Lookups:
        """`requests` ready to be asked again and again, answered yes or no."""
        return Lookups(self.sock, requests)

    def listener(self, address: str, port: int, interface: int = 0) -> Found | None:
        """The listening socket a connect to `address`:`port` (arriving on `interface`) would reach, if any."""
        return self.ask([self.request(address, port, interface=interface)])[0]

    def server_side(self, server: tuple[str, int], client: tuple[str, int]) -> Found | None:
        """The server's end of the connection from `client` to `server`, if the kernel still has it."""
        return self.ask([self.request(server[0], server[1], client[0], client[1])])[0]


class Lookups:
    """The same lookups asked every few milliseconds (`wait`), at the least CPU a round can cost in Python.

    The messages are joined once (BATCH requests each, see `_batched`), each answer is read into one reused buffer,
    and only its kind and error code are read: a round where nothing is there creates no object but the answer list.
    """

    def __init__(self, sock: socket.socket, requests: list[bytes]) -> None:
        self.sock = sock
        self.batches = _batched(requests)
        self.buffer = bytearray(4096)

    def found(self) -> list[bool]:
        """Whether each request found a socket, in order; OSError if the kernel refused one."""
        answers: list[bool] = []
        for message, count in self.batches:
            self.sock.send(message)
            for _ in range(count):
                self.sock.recv_into(self.buffer)
                answers.append(_found(self.buffer))
        return answers


def _batched(requests: list[bytes]) -> list[tuple[bytes, int]]:
    """`requests` joined BATCH to a message, each with its number of requests: the kernel answers every request
    with a message that copies it, and hundreds at once overflow the socket's receive buffer (ENOBUFS)."""
    batches = (requests[at : at + BATCH] for at in range(0, len(requests), BATCH))
    return [(b"".join(batch), len(batch)) for batch in batches]


def _found(answer: bytes | bytearray) -> bool:
    """Whether one answer names a socket (else the kernel said ENOENT); OSError when it refused the request."""
    kind: int
    code: int
    kind, code = ANSWER.unpack_from(answer)
    if kind == NLMSG_ERROR and -code != errno.ENOENT:
        raise OSError(-code, f"sock_diag lookup failed: {errno.errorcode.get(-code, -code)}")
    return kind != NLMSG_ERROR
