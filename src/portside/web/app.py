"""The dashboard's HTTP side, inside the proxy: requests in, pages, JSON, the event stream and actions out.

The proxy routes Host `portside.localhost:PORT` here as if to a backend (gateway.py), but the
backend is in-process: each connection is one end of a socketpair served by `serve`, so no
port is opened and no other process can reach it. The proxy's X-Forwarded-For (the client's
address; a client's own such header is dropped) and X-Forwarded-Proto are trusted for that
reason. Every request is judged (auth.py) before its path is looked at: without the token no
path answers anything but a refusal. ROUTES is the table of paths (tests walk it).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from importlib.resources import files
from typing import NamedTuple, TypeVar
from urllib.parse import parse_qsl, urlsplit

from portside.errors import PortsideError
from portside.leasing.store import Store
from portside.router.http1 import Data, End, Head, Reader, Refusal
from portside.web import actions
from portside.web.auth import HANDOVER, Request, cookie_name, judge
from portside.web.live import Hub
from portside.web.render import fragments, page
from portside.web.token import dashboard_token

T = TypeVar("T")
BODY_LIMIT = 64 * 1024
HEARTBEAT = 15.0
SECURITY = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", ("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
                                 "connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                                 "base-uri 'none'")),
]


class Response(NamedTuple):
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


REASONS = {200: "OK", 303: "See Other", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large", 421: "Misdirected Request"}


def encode(response: Response, keep_alive: bool) -> bytes:
    lines = [f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'OK')}",
             f"Content-Type: {response.content_type}", f"Content-Length: {len(response.body)}",
             *(f"{name}: {value}" for name, value in (*SECURITY, *response.headers)),
             "Connection: keep-alive" if keep_alive else "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body


def _json(status: int, data: object) -> Response:
    return Response(status, json.dumps(data).encode(), "application/json")


class Route(NamedTuple):
    """A path of the dashboard: the methods it answers, whether it is an action (POST + Origin + non-simple)."""

    methods: tuple[str, ...]
    action: bool
    handler: str


ROUTES: dict[str, Route] = {
    "/": Route(("GET", "HEAD"), False, "index"),
    HANDOVER: Route(("GET",), False, "handover"),
    "/static/dashboard.js": Route(("GET", "HEAD"), False, "script"),
    "/api/state": Route(("GET",), False, "state"),
    "/events": Route(("GET",), False, "events"),
    "/api/stop": Route(("POST",), True, "stop"),
    "/api/unalias": Route(("POST",), True, "unalias"),
    "/api/kill": Route(("POST",), True, "kill"),
    "/api/release": Route(("POST",), True, "release"),
}


class Dashboard:
    """The dashboard of one proxy: its port, store, token and sampler."""

    def __init__(self, port: int, store: Store) -> None:
        self.port = port
        self.store = store
        self.hub = Hub(store, port)
        self.tasks: set[asyncio.Task[None]] = set()

    async def connect(self, protocol: Callable[[], asyncio.BaseProtocol]
                      ) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
        """A connection to the dashboard for the proxy's relay: one end of a socketpair, the other served here."""
        ours, theirs = socket.socketpair()
        loop = asyncio.get_running_loop()
        task = loop.create_task(self.serve(theirs))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        transport, made = await loop.create_connection(protocol, sock=ours)
        return transport, made

    async def serve(self, sock: socket.socket) -> None:
        """Answer the requests of one relayed connection, one at a time."""
        reader, writer = await asyncio.open_connection(sock=sock)
        parser = Reader(response=False)
        head: Head | None = None
        body = bytearray()
        try:
            while data := await reader.read(65536):
                for event in parser.feed(data):
                    if isinstance(event, Head):
                        head, body = event, bytearray()
                    elif isinstance(event, Data):
                        body += event.data
                    elif isinstance(event, End) and head is not None:
                        if not await self.answer(head, bytes(body[:BODY_LIMIT + 1]), reader, writer):
                            return
                        head = None
                    elif isinstance(event, Refusal):
                        writer.write(encode(Response(event.status, event.reason.encode()), False))
                        return
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def answer(self, head: Head, body: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is done with (closed, or an event stream that ended)."""
        request = _request(head)
        route = ROUTES.get(request.path)
        verdict = judge(request, dashboard_token(), self.port, action=route is not None and route.action)
        if verdict.status:
            response = _json(verdict.status, {"error": verdict.reason})
        elif route is None:
            response = _json(404, {"error": f"no such page: {request.path}"})
        elif request.method not in route.methods:
            response = _json(405, {"error": f"{request.path} answers {', '.join(route.methods)}"})
        elif len(body) > BODY_LIMIT:
            response = _json(413, {"error": "the request body is too large"})
        elif route.handler == "events":
            await self.stream(request, reader, writer)
            return False
        else:
            handler: Callable[[Request, bytes], Awaitable[Response]] = getattr(self, f"_{route.handler}")
            response = await handler(request, body)
        if request.method == "HEAD":
            response = response._replace(body=b"")
        writer.write(encode(response, head.keep_alive))
        await writer.drain()
        return head.keep_alive

    async def _index(self, request: Request, _: bytes) -> Response:
        view = self.hub.view(await self.hub.sample(), request.scheme)
        return Response(200, page(view, request.query.get("q", "")).encode(), "text/html; charset=utf-8")

    async def _handover(self, request: Request, _: bytes) -> Response:
        cookie = f"{cookie_name(self.port)}={request.query['token']}; SameSite=Strict; HttpOnly; Path=/"
        return Response(303, b"see /\n", headers=(("Location", "/"), ("Set-Cookie", cookie)))

    async def _script(self, request: Request, _: bytes) -> Response:
        script = files("portside.web").joinpath("dashboard.js").read_bytes()
        return Response(200, script, "text/javascript; charset=utf-8")

    async def _state(self, request: Request, _: bytes) -> Response:
        view = self.hub.view(await self.hub.sample(), request.scheme)
        return _json(200, fragments(view, request.query.get("q", "")))

    async def stream(self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Server-Sent Events: the table bodies now, then those that change, until the page goes away."""
        writer.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                      + "".join(f"{name}: {value}\r\n" for name, value in SECURITY) + "\r\n").encode())
        subscriber = self.hub.subscribe(request.query.get("q", ""), request.scheme)
        subscriber.offer(fragments(self.hub.view(await self.hub.sample(), request.scheme), subscriber.query))
        gone = asyncio.ensure_future(reader.read(1))  # the relay closes its end when the page does
        try:
            while not gone.done():
                message = asyncio.ensure_future(subscriber.queue.get())
                done, _ = await asyncio.wait({message, gone}, timeout=HEARTBEAT,
                                             return_when=asyncio.FIRST_COMPLETED)
                if message not in done:
                    message.cancel()
                    if not done:
                        _chunk(writer, b": still here\n\n")
                        await writer.drain()
                    continue
                _chunk(writer, message.result())
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            gone.cancel()
            self.hub.unsubscribe(subscriber)

    async def _act(self, run: Callable[[], str], what: str) -> Response:
        loop = asyncio.get_running_loop()
        try:
            message = await loop.run_in_executor(None, run)
        except PortsideError as error:
            return _json(409, {"error": str(error)})
        self.hub.log(f"dashboard: {message}")
        return _json(200, {"message": message, "action": what})

    async def _stop(self, request: Request, body: bytes) -> Response:
        name = _field(body, "name", str)
        if name is None:
            return _json(400, {"error": 'stop needs {"name": NAME}'})
        return await self._act(lambda: actions.stop_run(name, self.store), "stop")

    async def _unalias(self, request: Request, body: bytes) -> Response:
        name = _field(body, "name", str)
        if name is None:
            return _json(400, {"error": 'unalias needs {"name": NAME}'})
        return await self._act(lambda: actions.remove_alias(name, self.store), "unalias")

    async def _kill(self, request: Request, body: bytes) -> Response:
        port = _field(body, "port", int)
        if port is None or not 1 <= port <= 65535:
            return _json(400, {"error": 'kill needs {"port": 1..65535}'})
        return await self._act(lambda: actions.kill_port(port), "kill")

    async def _release(self, request: Request, body: bytes) -> Response:
        port = _field(body, "port", int)
        if port is None or not 1 <= port <= 65535:
            return _json(400, {"error": 'release needs {"port": 1..65535}'})
        return await self._act(lambda: actions.release_lease(port, self.store), "release")


def _chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(b"%x\r\n%s\r\n" % (len(data), data))


def _field(body: bytes, name: str, kind: type[T]) -> T | None:
    """`name` from a JSON object body, when it has that type (a bool is not an int here)."""
    try:
        value = json.loads(body or b"{}").get(name)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def _request(head: Head) -> Request:
    """The parts of a relayed request the dashboard looks at; the peer and scheme as the proxy set them."""
    target = head.target.decode("latin-1")
    split = urlsplit(target)
    headers: dict[str, str] = {}
    for key, value in head.headers:
        name, text = key.decode("latin-1").lower(), value.decode("latin-1")
        if name == "cookie" and name in headers:  # HTTP/2 may send each cookie in a field of its own
            headers[name] += "; " + text
        elif name not in headers:  # else the first of repeated fields; Host is single (the proxy refuses several)
            headers[name] = text
    return Request(head.method.decode("latin-1"), split.path, dict(parse_qsl(split.query)), headers,
                   headers.get("x-forwarded-for", ""), headers.get("x-forwarded-proto", "http"))
