"""HTTP/2 from browsers (over TLS, chosen by ALPN), HTTP/1.1 to the backend.

The h2 library frames and keeps the connection state (sans-IO); this module does the
I/O. Each stream is one request: it gets a backend connection of its own (idle ones are
kept per port and reused), its body is forwarded as it arrives and acknowledged to the
client only once the backend took it, and the response is sent back within the client's
flow-control window, so a slow reader holds up its own stream, not the others. A
connection without a stream for the idle timeout (limits.py) gets GOAWAY and is closed. The
heads are translated by h2heads.py (pure): pseudo-headers to a request line and Host,
cookies joined, connection-specific headers dropped both ways, as RFC 9113 requires.
WebSocket is not offered over HTTP/2 (no extended CONNECT): browsers then open an
HTTP/1.1 connection for it, which the proxy serves as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import defaultdict, deque

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RemoteSettingsChanged,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import H2Error

from portside.model import Route
from portside.router.gateway import READ_SIZE, Gateway, Refused
from portside.router.h2heads import backend_head, refusal, request, response_fields
from portside.router.http1 import Data, End, Event, Head, Reader, Refusal, encode_data, encode_end
from portside.router.limits import Limits
from portside.router.pages import Page

IDLE_PER_PORT = 16
Body = asyncio.Queue[tuple[bytes, int] | None]


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

    def __init__(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: Limits) -> None:
        self.port = port
        self.writer = writer
        self.events = Events(reader, Reader(response=True, limits=limits))

    def close(self) -> None:
        self.writer.close()


async def connect(gateway: Gateway, route: Route) -> Upstream | Refused:
    """A new stream-based connection to the route's backend, or why there is none."""
    reader = asyncio.StreamReader(limit=READ_SIZE)
    connected = await gateway.connect(route, lambda: asyncio.StreamReaderProtocol(reader))
    if isinstance(connected, Refused):
        return connected
    transport, protocol = connected
    writer = asyncio.StreamWriter(transport, protocol, reader, asyncio.get_running_loop())
    return Upstream(route.port, reader, writer, gateway.limits)


class Http2Connection:
    """One client's HTTP/2 connection: its streams, and idle backend connections to reuse."""

    def __init__(self, gateway: Gateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 peer: str) -> None:
        self.gateway = gateway
        self.reader = reader
        self.writer = writer
        self.peer = peer
        self.h2 = H2Connection(H2Configuration(client_side=False, header_encoding=None))
        self.bodies: dict[int, Body] = {}
        self.streams: dict[int, asyncio.Task[None]] = {}
        self.window: asyncio.Future[None] | None = None
        self.idle: defaultdict[int, list[Upstream]] = defaultdict(list)
        self.busy: dict[int, Upstream] = {}
        self.quiet = asyncio.get_running_loop().time()  # since when no stream is open

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.writer.write(data)

    async def run(self) -> None:
        self.h2.initiate_connection()
        self.flush()
        idle = self.gateway.limits.idle_timeout
        try:
            while True:
                async with asyncio.timeout_at(None if self.streams else self.quiet + idle):
                    data = await self.reader.read(READ_SIZE)
                if not data:
                    return
                for event in self.h2.receive_data(data):
                    if isinstance(event, ConnectionTerminated):
                        return
                    self._dispatch(event)
                self.flush()
                await self.writer.drain()
        except TimeoutError:  # no stream for the idle timeout: GOAWAY, then close
            self.h2.close_connection()
        except (H2Error, ConnectionError, OSError):
            pass
        finally:
            for task in self.streams.values():
                task.cancel()
            for upstreams in self.idle.values():
                for upstream in upstreams:
                    upstream.close()
            with contextlib.suppress(ConnectionError, OSError):
                self.flush()
            self.writer.close()

    def _dispatch(self, event: object) -> None:
        if isinstance(event, RequestReceived) and event.stream_id is not None and event.headers is not None:
            body: Body = asyncio.Queue()
            self.bodies[event.stream_id] = body
            ended = event.stream_ended is not None
            task = asyncio.get_running_loop().create_task(
                self._stream(event.stream_id, list(event.headers), body, ended))
            self.streams[event.stream_id] = task
            task.add_done_callback(functools.partial(self._forget, event.stream_id))
        elif isinstance(event, DataReceived) and event.stream_id in self.bodies:
            self.bodies[event.stream_id].put_nowait((event.data or b"", event.flow_controlled_length or 0))
        elif isinstance(event, StreamEnded) and event.stream_id in self.bodies:
            self.bodies[event.stream_id].put_nowait(None)
        elif isinstance(event, StreamReset) and event.stream_id in self.streams:
            self.streams[event.stream_id].cancel()
        elif isinstance(event, WindowUpdated | RemoteSettingsChanged) and self.window and not self.window.done():
            self.window.set_result(None)

    def _forget(self, stream_id: int, _: object) -> None:
        self.streams.pop(stream_id, None)
        self.bodies.pop(stream_id, None)
        if not self.streams:
            self.quiet = asyncio.get_running_loop().time()

    async def _stream(self, stream_id: int, headers: list[tuple[bytes, bytes]], body: Body, ended: bool) -> None:
        try:
            await self._exchange(stream_id, headers, body, ended)
        except (ConnectionError, OSError, H2Error):
            with contextlib.suppress(H2Error):
                self.h2.reset_stream(stream_id, ErrorCodes.INTERNAL_ERROR)
                self.flush()
        finally:
            unfinished = self.busy.pop(stream_id, None)
            if unfinished is not None:
                unfinished.close()

    async def _exchange(self, stream_id: int, headers: list[tuple[bytes, bytes]], body: Body,
                        ended: bool) -> None:
        """Forward one request and its response.

        A request without a body sent on a reused backend connection that turns out closed
        (the backend's keep-alive timeout) is sent once more on a new connection.
        """
        asked = request(headers, ended)
        problem = refusal(asked)
        if problem is not None:
            await self._page(stream_id, self.gateway.page(400, problem, asked.accept, "https"))
            return
        decision = self.gateway.decide(asked.hosts, asked.target)
        if decision.route is None:
            await self._page(stream_id, self.gateway.page(decision.status, decision.reason, asked.accept, "https"))
            return
        head = backend_head(asked, peer=self.peer, host=decision.host)
        reused = self._reuse(decision.route.port)
        for upstream in [reused, None] if reused is not None and ended else [reused]:
            if upstream is None:
                connected = await connect(self.gateway, decision.route)
                if not isinstance(connected, Upstream):
                    await self._page(stream_id, self.gateway.page(*connected, asked.accept, "https"))
                    return
                upstream = connected
            self.busy[stream_id] = upstream
            upstream.writer.write(head)
            await self._request_body(stream_id, upstream, body, asked.chunked)
            if asked.method == b"HEAD":
                upstream.events.parser.head_only()
            keep_alive = await self._response(stream_id, upstream)
            if keep_alive is None:
                del self.busy[stream_id]
                upstream.close()
                continue
            if keep_alive and len(self.idle[upstream.port]) < IDLE_PER_PORT:
                self.idle[upstream.port].append(self.busy.pop(stream_id))
            return
        raise ConnectionError("the backend closed the connection without answering")

    async def _request_body(self, stream_id: int, upstream: Upstream, body: Body, chunked: bool) -> None:
        """Forward the body as it arrives; the client's window reopens only once the backend took each piece."""
        while (item := await body.get()) is not None:
            data, flow = item
            if data:
                upstream.writer.write(encode_data(data, chunked))
                await upstream.writer.drain()
            self.h2.acknowledge_received_data(flow, stream_id)
            self.flush()
        upstream.writer.write(encode_end(chunked))

    def _reuse(self, port: int) -> Upstream | None:
        idle = self.idle[port]
        return idle.pop() if idle else None

    async def _response(self, stream_id: int, upstream: Upstream) -> bool | None:
        """Relay the backend's response; True when its connection may be reused, None when it sent nothing."""
        keep_alive = answered = False
        while True:
            event = await upstream.events.next()
            if event is None:
                if answered:
                    raise ConnectionError("the backend closed before its response was complete")
                return None
            if isinstance(event, Head) and event.status >= 200:
                self.h2.send_headers(stream_id, response_fields(event))
                self.flush()
                keep_alive, answered = event.keep_alive, True
            elif isinstance(event, Data):
                await self._send(stream_id, event.data)
            elif isinstance(event, End):
                self.h2.end_stream(stream_id)
                self.flush()
                return keep_alive
            elif isinstance(event, Refusal):
                raise ConnectionError(f"the backend's response is not HTTP/1.1: {event.reason}")

    async def _send(self, stream_id: int, data: bytes) -> None:
        """Send `data` on the stream as the client's flow-control windows allow."""
        view = memoryview(data)
        while view:
            room = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size, len(view))
            if room <= 0:
                self.window = self.window if self.window and not self.window.done() else \
                    asyncio.get_running_loop().create_future()
                await self.window
                continue
            self.h2.send_data(stream_id, bytes(view[:room]))
            view = view[room:]
            self.flush()
            await self.writer.drain()

    async def _page(self, stream_id: int, page: Page) -> None:
        self.h2.send_headers(stream_id, [(b":status", b"%d" % page.status), *page.headers])
        self.flush()
        await self._send(stream_id, page.body)
        self.h2.end_stream(stream_id)
        self.flush()
