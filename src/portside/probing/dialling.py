"""One TCP connect, as every prober makes it: the outcome, its time, and the open socket.

Apart from the fingerprints (and the `ssl` they import), so `wait` and `doctor` dial
without loading what only `probe` needs.
"""

from __future__ import annotations

import errno
import socket
import time

from portside.model import TcpOutcome
from portside.net.resolve import sockaddr

CONNECT_TIMEOUT = 1.0
# A connect still under way (a non-blocking one, or one cut off by a socket timeout) has had no answer.
NO_ANSWER_YET = frozenset({errno.ETIMEDOUT, errno.EINPROGRESS, errno.EALREADY, errno.EAGAIN})


def tcp_outcome(code: int) -> TcpOutcome:
    """What a connect's errno says (0: it connected)."""
    if code == 0:
        return TcpOutcome.CONNECTED
    if code == errno.ECONNREFUSED:
        return TcpOutcome.REFUSED
    if code in NO_ANSWER_YET:
        return TcpOutcome.TIMEOUT
    return TcpOutcome.UNREACHABLE


def dial(sock: socket.socket, address: str, port: int) -> int:
    """`sock.connect_ex`, with an address no route can even be tried for (an unknown zone: fe80::1%nosuch)
    answered as EHOSTUNREACH rather than raised."""
    try:
        return sock.connect_ex(sockaddr(address, port))
    except OSError:
        return errno.EHOSTUNREACH


def connect(address: str, port: int, timeout: float) -> tuple[TcpOutcome, float | None, socket.socket | None]:
    """Dial `address`:`port`: the outcome, its time (when the peer answered), and the open socket."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)  # Python's sockets are close-on-exec already
    sock.settimeout(timeout)
    began = time.perf_counter()
    outcome = tcp_outcome(dial(sock, address, port))
    took = round(1000 * (time.perf_counter() - began), 3)
    if outcome is TcpOutcome.CONNECTED:
        return outcome, took, sock
    sock.close()
    return outcome, took if outcome is TcpOutcome.REFUSED else None, None
