"""The proxy's I/O: listen on loopback, accept, and tell TLS from plain HTTP.

One port serves both `http://` and `https://`: the first byte of a connection says which
(a TLS handshake record starts with 0x16, an HTTP request with a letter). TLS is set up
with the SNI-chosen certificate (tls/sni.py); then relay.ClientSide serves the connection
(HTTP/1.1, or hands it to http2.py when ALPN chose h2). uvloop is used when installed.
"""
from __future__ import annotations

import asyncio
import signal
import socket
import ssl
from collections.abc import Callable

from portside.leasing.store import Store, open_store
from portside.router.gateway import Gateway
from portside.router.limits import DEFAULT_LIMITS, Limits
from portside.router.relay import ClientSide
from portside.router.tls.sni import Certificates

TLS_HANDSHAKE = b"\x16"
HANDSHAKE_TIMEOUT = 10.0
BACKLOG = 1024


class Proxy:
    """The proxy's listeners and the gateway (routes, backends, pages) its connections share."""

    def __init__(self, port: int, store: Store, limits: Limits) -> None:
        self.gateway = Gateway(port, store, limits)
        self.certificates = Certificates(self.gateway.decide)
        self.connections: set[asyncio.Task[None]] = set()

    async def accept(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(listener)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            task = loop.create_task(self.connection(sock))
            self.connections.add(task)
            task.add_done_callback(self.connections.discard)

    async def connection(self, sock: socket.socket) -> None:
        """Start serving one client connection, plain or TLS; relay.ClientSide carries on from there."""
        loop = asyncio.get_running_loop()
        try:
            first = await _first_byte(sock)
            context = self.certificates.context() if first == TLS_HANDSHAKE else None
            if not first or (first == TLS_HANDSHAKE and context is None):
                sock.close()
                return
            scheme = "https" if context else "http"
            await loop.connect_accepted_socket(
                lambda: ClientSide(self.gateway, scheme, self.connections), sock, ssl=context,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT if context else None)
        except (TimeoutError, OSError, ssl.SSLError):
            sock.close()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


async def _first_byte(sock: socket.socket) -> bytes:
    """The connection's first byte, left unread; b"" when the client closed without sending."""
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(sock.fileno(), ready)
    try:
        await readable
    finally:
        loop.remove_reader(sock.fileno())
    return sock.recv(1, socket.MSG_PEEK)


def _listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=BACKLOG)
    sock.setblocking(False)
    return sock


async def serve(port: int, hosts: tuple[str, ...], *, ready: Callable[[], None] | None = None,
                store: Store | None = None, limits: Limits = DEFAULT_LIMITS) -> None:
    """Serve until SIGTERM or SIGINT on `hosts`:`port`."""
    proxy = Proxy(port, store or open_store(), limits)
    listeners = [_listener(host, port) for host in hosts]
    loop = asyncio.get_running_loop()
    accepting = [loop.create_task(proxy.accept(listener)) for listener in listeners]
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if ready is not None:
        ready()
    await stop.wait()
    for task in accepting:
        task.cancel()
    for listener in listeners:
        listener.close()


def run(port: int, hosts: tuple[str, ...], *, ready: Callable[[], None] | None = None,
        limits: Limits = DEFAULT_LIMITS) -> None:
    """Run the proxy in this process until it is told to stop."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(serve(port, hosts, ready=ready, limits=limits))
