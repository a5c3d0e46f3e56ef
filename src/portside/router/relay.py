"""HTTP/1.1 through the proxy as asyncio Protocols: callbacks on arriving bytes, no task per request.

A `ClientSide` parses the client's requests (http1.Reader), routes each by Host, and
writes it, X-Forwarded-* set, to a `BackendSide` kept alive per client connection; the
backend's response bytes go back as they arrive, unchanged, and are parsed only to
know where each response ends. Bodies stream both ways; when either side's send buffer fills,
reading from the other side pauses. Requests are relayed one at a time: a pipelined
request waits until the response before it is complete. An Upgrade answered 101 turns
the pair into a plain byte pipe (WebSocket). A TLS connection that agreed on h2 is
handed to http2.py instead. Streams-based code would cost twice the CPU per request.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

from portside.model import Route
from portside.router.gateway import READ_SIZE, Gateway, Refused
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
)
from portside.router.routing import Decision


class BackendSide(asyncio.Protocol):
    """The connection to a route's port: parses responses and writes them to the client."""

    def __init__(self, client: ClientSide, port: int) -> None:
        self.client = client
        self.port = port
        self.reader = Reader(response=True)
        self.transport: asyncio.Transport | None = None
        self.raw = self.keep_alive = self.final = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        """Pass the bytes on as they are (the proxy changes nothing in a response); parse them to see where it ends."""
        client = self.client
        client.write(data)
        if self.raw:
            return
        try:
            events = self.reader.feed(data)
        except ProtocolError:
            client.close()
            return
        done = False
        for event in events:
            if isinstance(event, Head):
                self.keep_alive, self.final = event.keep_alive, event.status >= 200
            elif isinstance(event, End):
                done = done or self.final  # the end of a 100 Continue is not the end of the response
            elif isinstance(event, Upgraded):
                self.raw = True
        if done and not self.raw:  # a 101 ends its message too, but the connection carries on as a pipe
            client.response_done(self.keep_alive)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.client.backend_lost(self)

    def pause_writing(self) -> None:
        self.client.pause_reading()

    def resume_writing(self) -> None:
        self.client.resume_reading()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class ClientSide(asyncio.Protocol):
    """One client connection speaking HTTP/1.1 (plain, or TLS without h2)."""

    def __init__(self, gateway: Gateway, scheme: str, tasks: set[asyncio.Task[None]]) -> None:
        self.gateway = gateway
        self.scheme = scheme
        self.tasks = tasks
        self.reader = Reader(response=False)
        self.queue: deque[Event] = deque()
        self.transport: asyncio.Transport | None = None
        self.backend: BackendSide | None = None
        self.peer = ""
        self.connecting = self.answering = self.piping = self.closing = self.paused = False
        self.request_chunked = self.request_keep_alive = False
        self.seen: tuple[list[bytes], int, Decision, bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's are not registered subclasses
        self.peer = str((transport.get_extra_info("peername") or ("",))[0])
        tls = transport.get_extra_info("ssl_object")
        if tls is not None and tls.selected_alpn_protocol() == "h2":
            self._hand_over_to_http2(transport)

    def _hand_over_to_http2(self, transport: asyncio.Transport) -> None:
        from portside.router.http2 import Http2Connection  # imports h2: only when a client asks for HTTP/2

        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_SIZE)
        protocol = asyncio.StreamReaderProtocol(reader)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        self.transport = None
        task = loop.create_task(Http2Connection(self.gateway, reader, writer, self.peer).run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # bytes from the client
    def data_received(self, data: bytes) -> None:
        if self.piping:
            if self.backend is not None and self.backend.transport is not None:
                self.backend.transport.write(data)
            return
        try:
            self.queue.extend(self.reader.feed(data))
        except ProtocolError:
            self.close()
            return
        self._pump()

    def eof_received(self) -> bool:
        if self.piping and self.backend is not None and self.backend.transport is not None:
            if self.backend.transport.can_write_eof():
                self.backend.transport.write_eof()
            return True
        if not self.answering:
            self.close()
        self.closing = True
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.backend is not None:
            self.backend.close()

    def pause_writing(self) -> None:
        if self.backend is not None and self.backend.transport is not None:
            self.backend.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.backend is not None and self.backend.transport is not None:
            self.backend.transport.resume_reading()

    # called by the backend side
    def write(self, data: bytes) -> None:
        if self.transport is not None and data:
            self.transport.write(data)

    def pause_reading(self) -> None:
        if self.transport is not None and not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and self.paused and not self.connecting:
            self.paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        if self.backend is not None:
            self.backend.close()

    def response_done(self, keep_alive: bool) -> None:
        self.answering = False
        if self.piping or self.closing or not keep_alive or not self.request_keep_alive:
            self.close()
            return
        self.resume_reading()
        self._pump()

    def backend_lost(self, backend: BackendSide) -> None:
        if backend is not self.backend:
            return
        self.backend = None
        if self.answering or self.piping:
            self.close()

    # forwarding
    def _decide(self, head: Head) -> tuple[Decision, bytes]:
        """The routing decision and the X-Forwarded-* lines for it, reused while Host and routes stay the same."""
        gateway = self.gateway
        hosts = head.header_values(b"host")
        gateway.table.current()
        seen = self.seen
        if seen and seen[0] == hosts and seen[1] == gateway.table.generation and head.target[:1] == b"/":
            return seen[2], seen[3]
        decision = gateway.decide(hosts, head.target)
        forwarded = gateway.forwarded_fields(self.peer, decision.host, self.scheme)
        self.seen = hosts, gateway.table.generation, decision, forwarded
        return decision, forwarded

    def _pump(self) -> None:
        """Forward queued events while the backend connection is ready for them."""
        out: list[bytes] = []
        queue = self.queue
        while queue and not self.connecting:
            event = queue[0]
            if isinstance(event, Head):
                if self.answering:
                    self.pause_reading()
                    break
                decision, forwarded = self._decide(event)
                route = decision.route
                if route is None:
                    self._page(decision.status, decision.reason, event)
                    return
                if self.backend is None or self.backend.port != route.port or self.backend.transport is None:
                    self._connect(route, event)
                    break
                queue.popleft()
                self.answering = True
                self.request_chunked, self.request_keep_alive = event.chunked, event.keep_alive
                if event.method == b"HEAD":
                    self.backend.reader.head_only()
                out.append(self.gateway.forwarded_head(event, event.headers, forwarded))
            elif isinstance(event, Data):
                queue.popleft()
                out.append(encode_data(event.data, self.request_chunked))
            elif isinstance(event, End):
                queue.popleft()
                out.append(encode_end(self.request_chunked))
            else:
                queue.popleft()
                out.append(event.rest)
                self.piping = True
        if out and self.backend is not None and self.backend.transport is not None:
            self.backend.transport.write(b"".join(out))

    def _page(self, status: int, reason: str, head: Head | None) -> None:
        accept = head.header(b"accept") if head is not None else None
        self.write(self.gateway.page(status, reason, accept, self.scheme).http1())
        self.queue.clear()
        self.close()

    def _connect(self, route: Route, head: Head) -> None:
        if self.backend is not None:
            old, self.backend = self.backend, None
            old.close()
        self.connecting = True
        self.pause_reading()
        task = asyncio.get_running_loop().create_task(self._open(route, head))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _open(self, route: Route, head: Head) -> None:
        connected = await self.gateway.connect(route, lambda: BackendSide(self, route.port))
        self.connecting = False
        if isinstance(connected, Refused):
            self._page(*connected, head)
            return
        self.backend = connected[1]
        if self.transport is None:
            self.close()
            return
        self.resume_reading()
        self._pump()
