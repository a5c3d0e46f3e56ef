"""The proxy's I/O: accept on loopback, tell TLS from plain HTTP, serve HTTP/1.1 (or HTTP/2).

One port serves both `http://` and `https://`: the first byte of a connection says which
(a TLS handshake record starts with 0x16, an HTTP request with a letter). TLS connections
that agree on h2 by ALPN go to http2.py; every other one is served here: requests read
through http1.Reader, routed by Host, forwarded on a kept-alive backend connection with
X-Forwarded-* set, bodies streamed both ways. An Upgrade (WebSocket) answered 101 turns
the pair into a plain byte pipe. uvloop is used when it is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import ssl
from collections.abc import Callable

from portside.router.gateway import READ_SIZE, Events, Gateway, Upstream, pipe
from portside.router.http1 import Data, End, Head, ProtocolError, Reader, Upgraded, encode_data, encode_end, encode_head
from portside.router.tls import Certificates
from portside.state import Store, open_store

TLS_HANDSHAKE = b"\x16"
HANDSHAKE_TIMEOUT = 10.0
BACKLOG = 1024


class Proxy:
    """The proxy's listeners and the gateway (routes, backends, pages) its connections share."""

    def __init__(self, port: int, store: Store) -> None:
        self.gateway = Gateway(port, store)
        self.certificates = Certificates()
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
        """Serve one client connection, plain or TLS, until it closes."""
        loop = asyncio.get_running_loop()
        try:
            first = await _first_byte(sock)
            context = self.certificates.context() if first == TLS_HANDSHAKE else None
            if not first or (first == TLS_HANDSHAKE and context is None):
                sock.close()
                return
            reader = asyncio.StreamReader(limit=READ_SIZE)
            protocol = asyncio.StreamReaderProtocol(reader)
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol, sock, ssl=context, ssl_handshake_timeout=HANDSHAKE_TIMEOUT if context else None)
        except (TimeoutError, OSError, ssl.SSLError):
            sock.close()
            return
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        peer = str((writer.get_extra_info("peername") or ("",))[0])
        tls = writer.get_extra_info("ssl_object")
        if tls is not None and tls.selected_alpn_protocol() == "h2":
            from portside.router.http2 import Http2Connection

            await Http2Connection(self.gateway, reader, writer, peer).run()
        else:
            await self.handle(reader, writer, peer, "https" if tls is not None else "http")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str,
                     scheme: str) -> None:
        """Serve HTTP/1.1 requests of one client connection, one after another, until either side closes."""
        gateway = self.gateway
        client = Events(reader, Reader(response=False))
        upstream: Upstream | None = None
        try:
            while True:
                event = await client.next()
                if not isinstance(event, Head):
                    break
                decision = gateway.decide(event.header_values(b"host"), event.target)
                route = decision.route
                if route is None:
                    writer.write(gateway.page(decision.status, decision.reason, event.header(b"accept"), scheme).http1())
                    break
                if upstream is not None and upstream.port != route.port:
                    upstream.close()
                    upstream = None
                if upstream is None:
                    connected = await gateway.connect(route)
                    if not isinstance(connected, Upstream):
                        writer.write(gateway.page(*connected, event.header(b"accept"), scheme).http1())
                        break
                    upstream = connected
                upstream.writer.write(gateway.forwarded_head(event, event.headers, peer, decision.host, scheme))
                if not await self._request_body(client, upstream, event.chunked):
                    break
                if event.upgrade:
                    await self._upgrade(client, writer, upstream)
                    break
                if event.method == b"HEAD":
                    upstream.events.parser.head_only()
                if not await self._response(upstream, writer) or not event.keep_alive:
                    break
        except (ProtocolError, ConnectionError, OSError):
            pass
        finally:
            if upstream is not None:
                upstream.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.drain()
            writer.close()

    async def _request_body(self, client: Events, upstream: Upstream, chunked: bool) -> bool:
        while True:
            event = await client.next()
            if isinstance(event, Data):
                upstream.writer.write(encode_data(event.data, chunked))
                await upstream.writer.drain()
            elif isinstance(event, End):
                upstream.writer.write(encode_end(chunked))
                await upstream.writer.drain()
                return True
            else:
                return isinstance(event, Upgraded)

    async def _response(self, upstream: Upstream, writer: asyncio.StreamWriter) -> bool:
        """Relay one response (after any 1xx); True when both sides may carry on with the next request."""
        chunked = keep_alive = False
        while True:
            event = await upstream.events.next()
            if event is None:
                return False
            if isinstance(event, Head):
                writer.write(encode_head(event))
                chunked, keep_alive = event.chunked, event.keep_alive
            elif isinstance(event, Data):
                writer.write(encode_data(event.data, chunked))
                await writer.drain()
            elif isinstance(event, End):
                writer.write(encode_end(chunked))
                await writer.drain()
                return keep_alive

    async def _upgrade(self, client: Events, writer: asyncio.StreamWriter, upstream: Upstream) -> None:
        """Relay the answer to an Upgrade; on 101, pipe raw bytes both ways until either side closes."""
        rest = next((e.rest for e in client.pending if isinstance(e, Upgraded)), b"")
        while True:
            event = await upstream.events.next()
            if event is None:
                return
            if isinstance(event, Head):
                writer.write(encode_head(event))
                if event.status != 101:
                    await self._finish_refused_upgrade(upstream, writer, event.chunked)
                    return
            elif isinstance(event, Upgraded):
                writer.write(event.rest)
                if rest:
                    upstream.writer.write(rest)
                await asyncio.gather(pipe(client.reader, upstream.writer), pipe(upstream.events.reader, writer))
                return

    async def _finish_refused_upgrade(self, upstream: Upstream, writer: asyncio.StreamWriter, chunked: bool) -> None:
        while isinstance(event := await upstream.events.next(), Data):
            writer.write(encode_data(event.data, chunked))
        writer.write(encode_end(chunked))


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
                store: Store | None = None) -> None:
    """Serve until SIGTERM or SIGINT on `hosts`:`port`."""
    proxy = Proxy(port, store or open_store())
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


def run(port: int, hosts: tuple[str, ...], *, ready: Callable[[], None] | None = None) -> None:
    """Run the proxy in this process until it is told to stop."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(serve(port, hosts, ready=ready))
