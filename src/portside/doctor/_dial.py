"""What a client of the target's scheme meets at one address: doctor's view of a connection.

An `http://` target gets a GET, an `https://` one a TLS handshake and then the GET, a
bare port a short listen for a banner, cut short once the server has accepted. A plain
answer to TLS (or the reverse) is checked on a fresh connection with the other scheme,
and a connection that stays silent is looked up in the kernel's socket table: its server
side has no inode until the server accepts it, so "never accepted" is seen, not guessed.
Every step is bounded by one deadline.
"""

from __future__ import annotations

import socket
import time

from portside._typing import TYPE_CHECKING
from portside.doctor.judge import Exchange
from portside.errors import InventoryError
from portside.inventory import tcp_sockets_in
from portside.model import ConnectionState, TcpOutcome
from portside.net.addresses import Target
from portside.net.netlink import TCP_ESTABLISHED, TCP_SYN_RECV
from portside.net.sockdiag import SockDiag
from portside.probing.dialling import CONNECT_TIMEOUT, connect
from portside.probing.fingerprints import Http, Tls, Verdict, unverified_context
from portside.probing.runner import REPLY_WAIT, converse, talk

if TYPE_CHECKING:
    from portside.probing.runner import Channel

BANNER_WAIT = 0.3  # the longest a bare port's silence is listened to
FIRST_LOOK = 0.002  # a server's first words usually come within this


def _accepted(local: tuple[str, int], port: int, address: str) -> bool | None:
    """Whether the server at `address`:`port` accepted the connection from `local`; None when the kernel cannot say.

    One exact sock_diag lookup of the server's end (net/sockdiag.py); where that is unavailable, a dump of the
    established sockets.
    """
    try:
        diag = None if "%" in address else SockDiag()  # a zoned address needs its interface: the dump matches ports
    except OSError:
        diag = None
    if diag is not None:
        try:
            found = diag.server_side((address, port), local)
        except OSError:
            found = None
        finally:
            diag.close()
        # Only the connection's own server end answers; a listener (the exact match missed) or a closing
        # socket is no answer, and the dump decides.
        if found is not None and found.state in (TCP_ESTABLISHED, TCP_SYN_RECV):
            return found.inode != 0
    try:
        dumped = tcp_sockets_in(ConnectionState.ESTABLISHED)
    except InventoryError:
        return None
    for raw in dumped:
        if raw.local.port == port and raw.remote is not None and raw.remote.port == local[1]:
            return raw.inode != 0
    return None


def _first_words(sock: socket.socket, silent: Exchange, local: tuple[str, int], port: int) -> Exchange:
    """What a bare port says once connected: a banner, a close, or nothing yet from a server that did accept.

    A server that accepted and has not spoken is decided at once (nothing else is asked of a bare port):
    the kernel's table is looked at after FIRST_LOOK, then at doubling pauses, and only a connection the
    server has not accepted (or one the kernel cannot tell about) waits out BANNER_WAIT."""
    until = time.monotonic() + BANNER_WAIT
    pause = FIRST_LOOK
    while True:
        sock.settimeout(max(0.0, min(pause, until - time.monotonic())))
        try:
            data = sock.recv(64)
        except TimeoutError:
            accepted = _accepted(local, port, silent.address)
            if accepted or time.monotonic() >= until:
                return silent._replace(accepted=accepted)
            pause *= 2
            continue
        except OSError:
            data = b""
        reply = "banner" if data else "closed"
        return silent._replace(reply=reply, detail=data[:32].hex(" "))


def _left(deadline: float, most: float) -> float:
    """A step's time: at most `most`, and what is left before `deadline` (never quite nothing)."""
    return min(most, max(0.05, deadline - time.monotonic()))


def _other_scheme(address: str, target: Target, wait: float) -> bool:
    """Does the port speak the scheme the target did not ask for (TLS for http://, plain HTTP for https://)?"""
    if target.secure:
        verdict, _ = converse(address, target.port, Http.to(target, address), wait)
        return verdict.protocol == "http"
    verdict, _ = converse(address, target.port, Tls(target.name), wait)
    return verdict.protocol == "tls" and "error" not in verdict.details


def _reply(address: str, target: Target, tcp: TcpOutcome, connect_ms: float | None, verdict: Verdict | None,
           data: bytes, deadline: float) -> Exchange:
    wait = _left(deadline, REPLY_WAIT)
    if verdict is not None and verdict.protocol == "http":
        status = verdict.details.get("status")
        code = status if isinstance(status, int) else None
        server = verdict.details.get("server")
        detail = f"{verdict.details.get('reason', '')}" + (f" (server: {server})" if server else "")
        other = not target.secure and code in (400, 497) and _other_scheme(address, target, wait)
        return Exchange(address, tcp, connect_ms, "http", code, detail, other_scheme=other)
    return Exchange(address, tcp, connect_ms, "other" if data else "closed", detail=data[:32].hex(" "),
                    other_scheme=_other_scheme(address, target, wait))


def exchange(address: str, target: Target, deadline: float) -> Exchange:
    """Dial `address` as a client of `target` would, and say what happened, finishing by `deadline`."""
    tcp, connect_ms, sock = connect(address, target.port, _left(deadline, CONNECT_TIMEOUT))
    if sock is None:
        return Exchange(address, tcp, connect_ms)
    with sock:
        local = sock.getsockname()[:2]
        silent = Exchange(address, tcp, connect_ms, "silent")
        if target.scheme is None:
            return _first_words(sock, silent, local, target.port)
        channel: Channel = sock
        if target.secure:
            sock.settimeout(_left(deadline, CONNECT_TIMEOUT))
            try:
                channel = unverified_context(["http/1.1"]).wrap_socket(sock, server_hostname=target.name)
            except TimeoutError:
                accepted = _accepted(local, target.port, address)
                other = accepted is not False and _other_scheme(address, target, _left(deadline, REPLY_WAIT))
                return silent._replace(accepted=accepted, other_scheme=other)
            except OSError as error:  # ssl.SSLError is an OSError
                other = _other_scheme(address, target, _left(deadline, REPLY_WAIT))
                return Exchange(address, tcp, connect_ms, "tls-failed", detail=str(error), other_scheme=other)
        verdict, data = talk(channel, Http.to(target, address), _left(deadline, CONNECT_TIMEOUT))
        if verdict is None and not data:
            return silent._replace(accepted=_accepted(local, target.port, address))
    return _reply(address, target, tcp, connect_ms, verdict, data, deadline)
