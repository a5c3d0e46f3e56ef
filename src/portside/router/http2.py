"""HTTP/2 from browsers (over TLS, chosen by ALPN), HTTP/1.1 to the backend, as asyncio Protocols.

The h2 library frames and keeps the connection state (sans-IO); this module does the I/O
with callbacks, no task per stream. Each stream is one request on a backend connection of
its own, taken from the gateway's keep-alive pool (pool.py) or opened for it, and put back
once its response is complete. The request body is forwarded as it arrives and
acknowledged to the client only once the backend took it (its send buffer is not full);
the response is sent back within the client's flow-control windows, and while a stream's
window is shut its backend connection is not read, so a slow reader holds up its own
stream, not the others. Frames for the client are written once per turn of the event loop,
whatever number of streams produced them. A request without a body whose reused backend
connection turns out closed (the backend's keep-alive timeout) is sent once more on a new
one. A connection without a stream for the idle timeout (limits.py) gets GOAWAY and is
closed.

h2 neither validates nor normalizes header blocks: h2heads.py (pure) checks what the
backend needs and translates the heads, pseudo-headers to a request line and Host,
cookies joined, connection-specific fields dropped both ways, as RFC 9113 requires. The
response heads are HPACK-encoded by hpackout.py, not by h2's encoder, and a request's
header block that came before is decoded from memory (hpackin.py).
WebSocket is not offered over HTTP/2 (no extended CONNECT): browsers then open an
HTTP/1.1 connection for it, which the proxy serves as usual.
"""

from __future__ import annotations

import asyncio
from typing import cast

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
from portside.router.gateway import Gateway, Refused
from portside.router.h2heads import backend_head, malformed, refusal, request, response_fields
from portside.router.hpackin import RememberingDecoder
from portside.router.hpackout import FieldEncoder
from portside.router.http1 import Data, End, Event, Head, Reader, encode_data, encode_end
from portside.router.pages import Page
from portside.router.pool import Pool
from portside.router.routing import Decision

CONFIG = H2Configuration(client_side=False, header_encoding=None, validate_inbound_headers=False,
                         normalize_inbound_headers=False, validate_outbound_headers=False,
                         normalize_outbound_headers=False)


class Upstream(asyncio.Protocol):
    """A connection to a backend port: one stream's exchange at a time, idle in the pool between them."""

    def __init__(self, pool: Pool[Upstream], port: int, reader: Reader) -> None:
        self.pool = pool
        self.port = port
        self.reader = reader
        self.transport: asyncio.Transport | None = None
        self.stream: Stream | None = None
        self.reused = self.received = self.full = False
        self.reading = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        stream = self.stream
        if stream is None:  # bytes from an idle connection: it is of no more use
            self.pool.discard(self)
            self.close()
            return
        self.received = True
        stream.respond(self.reader.feed(data))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.stream is not None:
            self.stream.backend_lost(self)
        else:
            self.pool.discard(self)

    def pause_writing(self) -> None:
        self.full = True

    def resume_writing(self) -> None:
        self.full = False
        if self.stream is not None:
            self.stream.acknowledge()

    def read(self, wanted: bool) -> None:
        if self.transport is not None and wanted != self.reading:
            self.reading = wanted
            if wanted:
                self.transport.resume_reading()
            else:
                self.transport.pause_reading()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Stream:
    """One request and its response: the backend connection, and what waits for it or for the client's window."""

    def __init__(self, connection: Http2Connection, stream_id: int, route: Route | None, head: bytes, *,
                 accept: bytes | None = None, chunked: bool = False, ended: bool = True,
                 head_only: bool = False) -> None:
        self.connection = connection
        self.id = stream_id
        self.route = route  # None: the proxy's own page
        self.accept = accept
        self.head = head
        self.chunked = chunked
        self.replayable = ended  # no body: it can be sent again on a new connection
        self.body_open = not ended
        self.head_only = head_only
        self.upstream: Upstream | None = None
        self.held: list[bytes] = [head]  # request bytes before a backend connection is ready
        self.unacked = 0  # request body bytes written, acknowledged once the backend's buffer drains
        self.out = bytearray()  # response bytes waiting for the client's flow-control window
        self.answered = self.ending = self.keep_alive = self.done = False

    # the request
    def body(self, data: bytes, flow: int) -> None:
        if self.done or self.route is None:  # not wanted: dropped, the window reopened at once
            self.connection.acknowledge(flow, self.id)
            return
        chunk = encode_data(data, self.chunked) if data else b""
        self.unacked += flow
        upstream = self.upstream
        if upstream is not None and upstream.transport is not None:
            if chunk:
                upstream.transport.write(chunk)
            self.acknowledge()
        elif chunk:
            self.held.append(chunk)

    def body_end(self) -> None:
        self.body_open = False
        end = encode_end(self.chunked)
        upstream = self.upstream
        if upstream is not None and upstream.transport is not None:
            if end:
                upstream.transport.write(end)
        elif end:
            self.held.append(end)

    def acknowledge(self) -> None:
        """Reopen the client's window for the body bytes the backend took."""
        upstream = self.upstream
        if self.unacked and (upstream is None or not upstream.full):
            self.connection.acknowledge(self.unacked, self.id)
            self.unacked = 0

    def attach(self, upstream: Upstream, reused: bool) -> None:
        """Send what is held on `upstream`, which carries this stream from now on."""
        self.upstream, upstream.stream = upstream, self
        upstream.reused, upstream.received = reused, False
        if self.head_only:
            upstream.reader.head_only()
        if upstream.transport is not None:
            upstream.transport.write(b"".join(self.held))
        self.held = []
        self.acknowledge()

    # the response
    def respond(self, events: list[Event]) -> None:
        h2 = self.connection.h2
        try:
            for index, event in enumerate(events, 1):
                kind = type(event)
                if kind is Data:
                    self.out += cast(Data, event).data
                elif kind is Head:
                    head = cast(Head, event)
                    if head.status >= 200:
                        h2.send_headers(self.id, response_fields(head))
                        self.answered, self.keep_alive = True, head.keep_alive
                elif kind is End and self.answered:  # (the end of a 100 Continue is not the end)
                    self.ending = True
                    if index < len(events):  # more than one response to one request: not reused
                        self.keep_alive = False
                    break
                elif kind is not End:  # a 101, or a response that is not HTTP/1.1
                    self.fail()
                    return
        except H2Error:
            self.fail()
            return
        self.push()

    def push(self) -> None:
        """Send what the client's windows allow; end the stream once the response is complete and sent."""
        try:
            self._send()
        except H2Error:
            self.fail()

    def _send(self) -> None:
        connection, h2, out = self.connection, self.connection.h2, self.out
        if out:
            room = min(h2.local_flow_control_window(self.id), len(out))
            sent, size = 0, h2.max_outbound_frame_size
            while sent < room:
                piece = min(room - sent, size)
                h2.send_data(self.id, bytes(out[sent:sent + piece]),
                             end_stream=self.ending and sent + piece == len(out))
                sent += piece
            del out[:sent]
            if not out and self.ending:
                self.finish()
        elif self.ending:
            h2.end_stream(self.id)
            self.finish()
        if self.upstream is not None:
            self.upstream.read(not out and not connection.paused)
        connection.flush()

    def finish(self) -> None:
        """The response is sent: the backend connection goes back to the pool when it may carry another."""
        self.done = True
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.stream = None
            if self.keep_alive and not self.body_open and upstream.transport is not None:
                upstream.read(True)
                upstream.pool.put(upstream)
            else:
                upstream.close()
        self.connection.forget(self, ErrorCodes.NO_ERROR if self.body_open else None)

    def backend_lost(self, upstream: Upstream) -> None:
        self.upstream = None
        if not upstream.received and upstream.reused and self.replayable and self.route is not None:
            self.held = [self.head]
            self.connection.connect(self, self.route)
            return
        self.fail()

    def fail(self) -> None:
        """The exchange cannot complete: reset the stream, close its backend connection."""
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.stream = None
            upstream.close()
        self.done = True
        self.connection.forget(self, ErrorCodes.INTERNAL_ERROR)

    def abandon(self) -> None:
        """The client reset the stream, or went away."""
        upstream, self.upstream = self.upstream, None
        self.done = True
        if upstream is not None:
            upstream.stream = None
            upstream.close()


class Http2Connection(asyncio.Protocol):
    """One client's HTTP/2 connection: its streams, frames out once per turn of the loop, the idle timeout."""

    def __init__(self, gateway: Gateway, peer: str) -> None:
        self.gateway = gateway
        self.pool: Pool[Upstream] = gateway.pool
        self.peer = peer
        self.h2 = H2Connection(CONFIG)
        self.h2.encoder = FieldEncoder()
        self.h2.decoder = RememberingDecoder(self.h2.decoder)
        self.streams: dict[int, Stream] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()
        self.flushing = self.paused = False
        self.quiet = self.loop.time()  # since when no stream is open
        self.timer: asyncio.TimerHandle | None = None
        self.seen: tuple[tuple[bytes, ...], int, Decision] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.h2.initiate_connection()
        self.flush()
        self.timer = self.loop.call_at(self.quiet + self.gateway.limits.idle_timeout, self._expire)

    def data_received(self, data: bytes) -> None:
        try:
            events = self.h2.receive_data(data)
        except H2Error:  # h2 has queued GOAWAY
            self.close()
            return
        streams = self.streams
        for event in events:
            kind = type(event)
            if kind is RequestReceived:
                received = cast(RequestReceived, event)
                self._request(received.stream_id, received.headers,
                              received.stream_ended is not None)
            elif kind is DataReceived:
                chunk = cast(DataReceived, event)
                stream = streams.get(chunk.stream_id)
                if stream is None:
                    self.acknowledge(chunk.flow_controlled_length or 0, chunk.stream_id)
                else:
                    stream.body(chunk.data or b"", chunk.flow_controlled_length or 0)
            elif kind is StreamEnded:
                stream = streams.get(cast(StreamEnded, event).stream_id)
                if stream is not None:
                    stream.body_end()
            elif kind is WindowUpdated or kind is RemoteSettingsChanged:
                stream_id = getattr(event, "stream_id", 0)
                for stream in [streams[stream_id]] if stream_id in streams else list(streams.values()):
                    if stream.out:
                        stream.push()
            elif kind is StreamReset:
                stream = streams.pop(cast(StreamReset, event).stream_id, None)
                if stream is not None:
                    stream.abandon()
                    self._quiet()
            elif kind is ConnectionTerminated:
                self.close()
                return
        self.flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        for stream in self.streams.values():
            stream.abandon()
        self.streams.clear()

    def pause_writing(self) -> None:
        self.paused = True
        for stream in self.streams.values():
            if stream.upstream is not None:
                stream.upstream.read(False)

    def resume_writing(self) -> None:
        self.paused = False
        for stream in list(self.streams.values()):
            stream.push()

    def flush(self) -> None:
        """Write h2's frames at the end of this turn of the loop, with whatever else the turn adds."""
        if not self.flushing:
            self.flushing = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self.flushing = False
        data = self.h2.data_to_send()
        if data and self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        """Send what h2 has (a GOAWAY, when it closed the connection), then close."""
        self._flush()
        if self.transport is not None:
            self.transport.close()

    def acknowledge(self, size: int, stream_id: int) -> None:
        if size and self.transport is not None:
            self.h2.acknowledge_received_data(size, stream_id)
            self.flush()

    def forget(self, stream: Stream, reset: ErrorCodes | None) -> None:
        """The stream is over on the proxy's side; reset it when the client may still be sending or waiting."""
        if self.streams.get(stream.id) is stream:
            del self.streams[stream.id]
            self._quiet()
        if reset is not None and self.transport is not None:
            try:
                self.h2.reset_stream(stream.id, reset)
            except H2Error:
                pass
            self.flush()

    def _quiet(self) -> None:
        if not self.streams:
            self.quiet = self.loop.time()

    def _expire(self) -> None:
        """No stream for the idle timeout: GOAWAY, then close; else wake when that could next be."""
        self.timer = None
        if self.transport is None:
            return
        idle = self.gateway.limits.idle_timeout
        now = self.loop.time()
        if not self.streams and now >= self.quiet + idle:
            self.h2.close_connection()
            self.close()
            return
        self.timer = self.loop.call_at(now + idle if self.streams else self.quiet + idle, self._expire)

    # streams
    def _request(self, stream_id: int, headers: list[tuple[bytes, bytes]], ended: bool) -> None:
        gateway = self.gateway
        asked = request(headers, ended)
        problem = malformed(headers, ended) or refusal(asked)
        if problem is not None:
            self._page(stream_id, gateway.page(400, problem, asked.accept, "https"), ended)
            return
        decision = self._decide(asked.hosts, asked.target)
        route = decision.route
        if route is None:
            self._page(stream_id, gateway.page(decision.status, decision.reason, asked.accept, "https"), ended)
            return
        stream = Stream(self, stream_id, route, backend_head(asked, peer=self.peer, host=decision.host),
                        accept=asked.accept, chunked=asked.chunked, ended=ended, head_only=asked.method == b"HEAD")
        self.streams[stream_id] = stream
        upstream = self.pool.take(route.port)
        if upstream is not None:
            stream.attach(upstream, reused=True)
        else:
            self.connect(stream, route)

    def _decide(self, hosts: tuple[bytes, ...], target: bytes) -> Decision:
        """The routing decision, reused while the authority and the routes stay the same."""
        gateway = self.gateway
        gateway.table.current()
        seen = self.seen
        if seen is not None and seen[0] == hosts and seen[1] == gateway.table.generation and target[:1] == b"/":
            return seen[2]
        decision = gateway.decide(hosts, target)
        self.seen = hosts, gateway.table.generation, decision
        return decision

    def _page(self, stream_id: int, page: Page, ended: bool) -> None:
        """The proxy's own answer on the stream, sent as the client's window allows; a body still to come is
        dropped, and the stream reset (NO_ERROR) once the page is sent."""
        stream = Stream(self, stream_id, None, b"", ended=ended)
        self.streams[stream_id] = stream
        self.h2.send_headers(stream_id, [(b":status", b"%d" % page.status), *page.headers])
        stream.out += page.body
        stream.ending = True
        stream.push()

    def connect(self, stream: Stream, route: Route) -> None:
        """Open a backend connection for the stream; it goes to the pool if the stream is gone by then."""
        task = self.loop.create_task(self._open(stream, route))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _open(self, stream: Stream, route: Route) -> None:
        pool, limits = self.pool, self.gateway.limits
        connected = await self.gateway.connect(route, lambda: Upstream(pool, route.port,
                                                                      Reader(response=True, limits=limits)))
        if isinstance(connected, Refused):
            if not stream.done and self.transport is not None:
                self.streams.pop(stream.id, None)
                self._page(stream.id, self.gateway.page(*connected, stream.accept, "https"), not stream.body_open)
            return
        upstream = connected[1]
        if stream.done or self.transport is None:
            pool.put(upstream)
            return
        stream.attach(upstream, reused=False)
