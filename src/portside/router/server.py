"""The proxy's I/O: accept on loopback, route each request by Host, stream both ways.

One coroutine per client connection reads requests through http1.Reader, opens (and keeps,
for keep-alive) a connection to the route's port, forwards the head with X-Forwarded-For,
-Proto and -Host set, streams the body, then streams the response back. An Upgrade
(WebSocket) answered 101 turns the pair into a plain byte pipe. Routes are re-read when
the store changes, so a new `run` is served without a restart; a route's owner is checked
alive whenever a backend connection is opened. uvloop is used when it is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import time
from collections import deque
from collections.abc import Callable

from portside.model import Route
from portside.router.http1 import (
    Data,
    End,
    Event,
    Head,
    ProtocolError,
    Reader,
    Upgraded,
    encode_data,
    encode_end,
    encode_head,
)
from portside.router.pages import error_page
from portside.router.routing import decide
from portside.routes import is_live, routes
from portside.state import Store, open_store

READ_SIZE = 256 * 1024
RECHECK_SECONDS = 1.0
FORWARDED = (b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host")


class RouteTable:
    """The live routes, re-read when another process commits to the store, and at least every second."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.version = -1
        self.loaded = 0.0
        self.by_name: dict[str, Route] = {}

    def current(self) -> dict[str, Route]:
        (version,) = self.store.read().execute("PRAGMA data_version").fetchone()
        now = time.monotonic()
        if version != self.version or now - self.loaded > RECHECK_SECONDS:
            self.by_name = {route.name: route for route in routes(self.store)}
            self.version, self.loaded = version, now
        return self.by_name

    def forget(self, route: Route) -> None:
        self.loaded = 0.0
        self.by_name.pop(route.name, None)


class Events:
    """A connection's reader and parser: the next event, reading more bytes when needed."""

    def __init__(self, reader: asyncio.StreamReader, parser: Reader) -> None:
        self.reader = reader
        self.parser = parser
        self.pending: deque[Event] = deque()

    async def next(self) -> Event | None:
        while not self.pending:
            data = await self.reader.read(READ_SIZE)
            if not data:
                return None
            self.pending.extend(self.parser.feed(data))
        return self.pending.popleft()


class Upstream:
    """A kept-alive connection to one backend port."""

    def __init__(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.port = port
        self.writer = writer
        self.events = Events(reader, Reader(response=True))

    def close(self) -> None:
        self.writer.close()


async def _open_upstream(port: int) -> Upstream | None:
    for address in ("127.0.0.1", "::1"):
        try:
            reader, writer = await asyncio.open_connection(address, port, limit=READ_SIZE)
        except OSError:
            continue
        return Upstream(port, reader, writer)
    return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(READ_SIZE):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


class Proxy:
    """The proxy's state: where it listens, and the route table it serves."""

    def __init__(self, port: int, store: Store, scheme: str = "http") -> None:
        self.port = port
        self.scheme = scheme
        self.table = RouteTable(store)

    def _forwarded_head(self, head: Head, peer: str, host: str) -> bytes:
        headers = [(k, v) for k, v in head.headers if k.lower() not in FORWARDED]
        headers += [(b"X-Forwarded-For", peer.encode()), (b"X-Forwarded-Proto", self.scheme.encode()),
                    (b"X-Forwarded-Host", host.encode("latin-1"))]
        if head.target[:1] not in (b"/", b"*"):
            split = head.target.split(b"/", 3)
            head = head._replace(target=b"/" + (split[3] if len(split) > 3 else b""))
        return encode_head(head, headers)

    def _page(self, status: int, message: str, head: Head | None) -> bytes:
        accept = head.header(b"accept") if head is not None else None
        listed = sorted(self.table.current().values()) if status in (404, 502) else []
        return error_page(status, message, listed, proxy_port=self.port,
                          scheme=self.scheme, wants_html=accept is not None and b"text/html" in accept)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = str((writer.get_extra_info("peername") or ("",))[0])
        client = Events(reader, Reader(response=False))
        upstream: Upstream | None = None
        try:
            while True:
                event = await client.next()
                if not isinstance(event, Head):
                    break
                decision = decide(event.header_values(b"host"), event.target, self.table.current())
                route = decision.route
                if route is None:
                    writer.write(self._page(decision.status, decision.reason, event))
                    break
                if upstream is not None and upstream.port != route.port:
                    upstream.close()
                    upstream = None
                if upstream is None:
                    if not is_live(route):
                        self.table.forget(route)
                        writer.write(self._page(404, f"{route.name} stopped (its owner exited)", event))
                        break
                    upstream = await _open_upstream(route.port)
                    if upstream is None:
                        writer.write(self._page(502, f"{route.name} does not answer on port {route.port}", event))
                        break
                upstream.writer.write(self._forwarded_head(event, peer, decision.host))
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
                await asyncio.gather(_pipe(client.reader, upstream.writer), _pipe(upstream.events.reader, writer))
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


async def serve(port: int, hosts: tuple[str, ...], *, context: ssl.SSLContext | None = None,
                ready: Callable[[], None] | None = None, store: Store | None = None) -> None:
    """Serve until SIGTERM or SIGINT on `hosts`:`port`."""
    proxy = Proxy(port, store or open_store(), "https" if context else "http")
    servers = [await asyncio.start_server(proxy.handle, host, port, ssl=context, limit=READ_SIZE, reuse_address=True)
               for host in hosts]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if ready is not None:
        ready()
    await stop.wait()
    for server in servers:
        server.close()


def run(port: int, hosts: tuple[str, ...], *, context: ssl.SSLContext | None = None,
        ready: Callable[[], None] | None = None) -> None:
    """Run the proxy in this process until it is told to stop."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(serve(port, hosts, context=context, ready=ready))
