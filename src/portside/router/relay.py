"""HTTP/1.1 through the proxy as asyncio Protocols: callbacks on arriving bytes, no task per request.

A `ClientSide` parses the client's requests (http1.Reader), routes each by Host, and
writes it, X-Forwarded-* set, to a `BackendSide` kept alive per client connection; the
backend's response bytes go back as they arrive, unchanged, and are parsed only to
know where each response ends. Bodies stream both ways; when either side's send buffer fills,
reading from the other side pauses. Requests are relayed one at a time: a pipelined
request waits until the response before it is complete. A request that asks to upgrade is
answered like any other; only when the backend answers 101 does the pair become a plain
byte pipe (WebSocket): until then what the client sends after it waits unparsed, and is
parsed and routed as requests when the backend declines. A TLS connection that agreed on
h2 is handed to http2.py's Protocol instead. Streams-based code would cost twice the CPU
per request.

Every refusal is a status page (400, 404, 408, 414, 421, 431, 501, 502, 505) after the
answers to the requests before it; then the proxy stops sending, reads and drops what the
client still sends for a moment (so the page is not lost to a reset), and closes. A head
must arrive within the header timeout once it began (else 408); a connection with no
request under way closes after the idle timeout (limits.py). Both are checked by one lazy
timer per connection, so a request costs no timer calls.
"""

from __future__ import annotations

import asyncio
from collections import deque
from enum import StrEnum
from typing import cast

from portside.model import Route
from portside.router.gateway import Gateway, Refused
from portside.router.http1 import (
    HOLDING,
    Data,
    End,
    Event,
    Head,
    Reader,
    Refusal,
    Upgraded,
    encode_data,
    encode_end,
)
from portside.router.routing import Decision

LINGER_SECONDS = 2.0


class Phase(StrEnum):
    """Where a client connection is, for its timeouts."""

    IDLE = "idle"  # no request under way: closed after the idle timeout
    READING = "reading"  # a request head is arriving: 408 after the header timeout
    BUSY = "busy"  # a request is being answered, or the connection is a pipe: no timeout
    CLOSING = "closing"  # refused or done: what the client sends is dropped until it closes, or LINGER_SECONDS


IDLE, READING, BUSY, CLOSING = Phase.IDLE, Phase.READING, Phase.BUSY, Phase.CLOSING  # globals: read per request


class BackendSide(asyncio.Protocol):
    """The connection to a route's port: parses responses and writes them to the client."""

    def __init__(self, client: ClientSide, port: int) -> None:
        self.client = client
        self.port = port
        self.reader = Reader(response=True, limits=client.limits)
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
        done = False
        for event in self.reader.feed(data):
            if isinstance(event, Head):
                self.keep_alive, self.final = event.keep_alive, event.status >= 200
            elif isinstance(event, End):
                done = done or self.final  # the end of a 100 Continue is not the end of the response
            elif isinstance(event, Data):
                continue
            elif isinstance(event, Upgraded):
                self.raw = True
                client.upgraded()
                return  # a 101 ends its message too, but the connection carries on as a pipe
            else:  # a response that is not HTTP/1.1
                client.close()
                return
        if done:
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
        self.limits = gateway.limits
        self.scheme = scheme
        self.tasks = tasks
        self.reader = Reader(response=False, limits=gateway.limits)
        self.queue: deque[Event] = deque()
        self.transport: asyncio.Transport | None = None
        self.backend: BackendSide | None = None
        self.peer = ""
        self.connecting = self.answering = self.piping = self.closing = self.paused = False
        self.request_chunked = self.request_keep_alive = self.request_open = self.replied = False
        self.seen: tuple[list[bytes], int, Decision, bytes] | None = None
        self.phase = IDLE
        self.since = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(asyncio.Transport, transport)  # uvloop's are not registered subclasses
        self.peer = str((transport.get_extra_info("peername") or ("",))[0])
        tls = transport.get_extra_info("ssl_object")
        if tls is not None and tls.selected_alpn_protocol() == "h2":
            self._hand_over_to_http2(transport)
            return
        self.loop = asyncio.get_running_loop()
        self.since = self.loop.time()
        self._arm(self.since + self.limits.idle_timeout)

    def _hand_over_to_http2(self, transport: asyncio.Transport) -> None:
        from portside.router.http2 import Http2Connection  # imports h2: only when a client asks for HTTP/2

        self.transport = None
        protocol = Http2Connection(self.gateway, self.peer)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)

    # bytes from the client
    def data_received(self, data: bytes) -> None:
        if self.piping:
            if self.backend is not None and self.backend.transport is not None:
                self.backend.transport.write(data)
            return
        if self.phase is CLOSING:
            return
        self.queue.extend(self.reader.feed(data))
        if self.reader.state is HOLDING:  # what follows an upgrade request waits for the backend's answer
            self.pause_reading()
        self._pump()
        if self.phase is IDLE:  # part of a head: its time starts now
            self.phase, self.since = READING, self.loop.time()

    def eof_received(self) -> bool:
        if self.piping and self.backend is not None and self.backend.transport is not None:
            if self.backend.transport.can_write_eof():
                self.backend.transport.write_eof()
            return True
        self.closing = True
        if self.reader.in_message:  # a request cut off by the end: it can never be answered
            if self.request_open:
                self.close()
                return True
            queue = self.queue
            while queue and not isinstance(queue[-1], End | Refusal):
                queue.pop()
        if self.phase is CLOSING or not (self.answering or self.connecting or self.queue):
            self.close()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
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
            self.replied = True
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
        if not keep_alive or not self.request_keep_alive:
            self._linger()
            return
        if self.reader.state is HOLDING:  # the backend declined the upgrade: what followed is requests after all
            self.queue.extend(self.reader.upgrade(False))
        self.phase = READING if self.reader.in_message or self.queue else IDLE
        self.since = self.loop.time()
        if self.paused:
            self.resume_reading()
        if self.queue or self.closing:  # else there is nothing to forward, nor a close to make
            self._pump()

    def upgraded(self) -> None:
        """The backend answered 101: from now on, bytes pass both ways as they are."""
        switched = self.reader.upgrade(True)
        backend = self.backend
        if not switched or backend is None or backend.transport is None:
            self.close()  # a 101 to a request that did not ask for one
            return
        (rest,) = cast(list[Upgraded], switched)
        self.piping, self.answering, self.phase = True, False, BUSY
        backend.transport.write(rest.rest)
        self.resume_reading()

    def backend_lost(self, backend: BackendSide) -> None:
        if backend is not self.backend:
            return
        self.backend = None
        if self.answering or self.piping:
            self.close()

    # timeouts
    def _arm(self, at: float) -> None:
        """Wake at `at`, or sooner: never later than the shortest timeout from now, so a phase that begins
        later (a head after idling) needs no new timer: its deadline is never before the timer."""
        if self.timer is not None:
            self.timer.cancel()
        limits = self.limits
        self.timer = self.loop.call_at(min(at, self.loop.time() + min(limits.header_timeout, limits.idle_timeout)),
                                       self._expire)

    def _expire(self) -> None:
        """Act on the phase's deadline when it has passed, else wait on."""
        self.timer = None
        if self.transport is None:
            return
        limits, now = self.limits, self.loop.time()
        allowed = {IDLE: limits.idle_timeout, READING: limits.header_timeout,
                   CLOSING: LINGER_SECONDS}.get(self.phase)
        if allowed is not None and now >= self.since + allowed:
            if self.phase is not READING:
                self.close()
                return
            self._refuse(408, f"the request head did not arrive within {limits.header_timeout:g} s", None)
            return
        self._arm(now + 3600.0 if allowed is None else self.since + allowed)

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
                    self._refuse(decision.status, decision.reason, event)
                    return
                if self.backend is None or self.backend.port != route.port or self.backend.transport is None:
                    self._connect(route, event)
                    break
                queue.popleft()
                self.answering = self.request_open = True
                self.replied, self.phase = False, BUSY
                self.request_chunked, self.request_keep_alive = event.chunked, event.keep_alive
                if event.method == b"HEAD":
                    self.backend.reader.head_only()
                out.append(self.gateway.forwarded_head(event, event.headers, forwarded))
            elif isinstance(event, Data):
                queue.popleft()
                out.append(encode_data(event.data, self.request_chunked))
            elif isinstance(event, End):
                queue.popleft()
                self.request_open = False
                if self.request_chunked:
                    out.append(encode_end(True))
            elif self.answering and not self.request_open:  # a refusal, answered after the response before it
                self.pause_reading()
                break
            elif self.answering and self.replied:  # cut off in its body, and the backend is answering already
                self.close()
                return
            else:
                self._refuse(*cast(Refusal, event), None)
                return
        if out and self.backend is not None and self.backend.transport is not None:
            self.backend.transport.write(b"".join(out))
        if self.closing and not (queue or self.answering or self.connecting):
            self.close()

    def _refuse(self, status: int, reason: str, head: Head | None) -> None:
        """The proxy's own page for the status, then no more: the connection closes once the client is done."""
        accept = head.header(b"accept") if head is not None else None
        self.write(self.gateway.page(status, reason, accept, self.scheme).http1())
        self.queue.clear()
        self._linger()

    def _linger(self) -> None:
        """Stop sending, drop what the client still sends, close when it does (or after LINGER_SECONDS).

        Closing at once with unread bytes from the client would send a reset, which can destroy the
        response before the client reads it (nginx's lingering_close).
        """
        if self.backend is not None:
            self.backend.close()
        transport = self.transport
        if transport is None:
            return
        if self.closing:
            self.close()
            return
        if not transport.can_write_eof():  # TLS: its close_notify says the end
            self.close()
            return
        transport.write_eof()
        self.phase, self.since = CLOSING, self.loop.time()
        self._arm(self.since + LINGER_SECONDS)
        self.resume_reading()

    def _connect(self, route: Route, head: Head) -> None:
        if self.backend is not None:
            old, self.backend = self.backend, None
            old.close()
        self.connecting, self.phase = True, BUSY
        self.pause_reading()
        task = asyncio.get_running_loop().create_task(self._open(route, head))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _open(self, route: Route, head: Head) -> None:
        connected = await self.gateway.connect(route, lambda: BackendSide(self, route.port))
        self.connecting = False
        if isinstance(connected, Refused):
            self._refuse(*connected, head)
            return
        self.backend = connected[1]
        if self.transport is None:
            self.close()
            return
        self.resume_reading()
        self._pump()
