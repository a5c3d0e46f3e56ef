"""The proxy's edges against hostile bytes: upgrade, limits, pipelining, framing, timeouts, and a fuzz.

A real proxy (started by `portside alias`, its limits set through PORTSIDE_PROXY_* as a user
would) in front of a backend that logs every request it parses (llhttp through httptools,
as strict as Node's) and the raw bytes it receives. Each test sends exact bytes on a raw
socket and asserts both what the client got and what the backend saw.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import httptools
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portside.router import control

ISSUE_UPGRADE = (b"GET /upg HTTP/1.1\r\nHost: app.localhost\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n"
                 b"GET / HTTP/1.1\r\nHost: evil.com\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n")


class Seen(NamedTuple):
    """A request as the backend parsed it."""

    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key.lower() == name]


class _Connection:
    """httptools callbacks for one backend connection: complete requests, in order."""

    def __init__(self) -> None:
        self.done: list[Seen] = []
        self.parser = httptools.HttpRequestParser(self)
        self.headers: list[tuple[bytes, bytes]] = []
        self.target = self.body = b""

    def on_message_begin(self) -> None:
        self.headers, self.target, self.body = [], b"", b""

    def on_url(self, url: bytes) -> None:
        self.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done.append(Seen(self.parser.get_method(), self.target, self.headers, self.body))


class LoggingBackend:
    """127.0.0.1:port; answers each request `200 seen TARGET` (headers only for HEAD), and declines every
    upgrade with that 200; `/slow` answers after 1.5 s. Logs what it parsed, its parse errors, the raw bytes."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests: list[Seen] = []
        self.errors: list[str] = []
        self.raw = bytearray()
        self.accepted = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        connection = _Connection()
        with sock:
            while data := self._recv(sock):
                with self.lock:
                    self.raw += data
                try:
                    connection.parser.feed_data(data)
                except httptools.HttpParserUpgrade as upgrade:  # declined: what follows is HTTP again
                    connection.parser = httptools.HttpRequestParser(connection)
                    rest = data[upgrade.args[0]:]
                    try:
                        connection.parser.feed_data(rest)
                    except httptools.HttpParserError as error:
                        self._fail(error)
                        return
                except httptools.HttpParserError as error:
                    self._fail(error)
                    return
                for seen in connection.done:
                    with self.lock:
                        self.requests.append(seen)
                    if seen.target == b"/slow":
                        time.sleep(1.5)
                    body = b"seen " + seen.target
                    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                    sock.sendall(head if seen.method == b"HEAD" else head + body)
                connection.done = []

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    def _fail(self, error: Exception) -> None:
        with self.lock:
            self.errors.append(str(error))

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def backend() -> Iterator[LoggingBackend]:
    logging = LoggingBackend()
    yield logging
    logging.close()


@pytest.fixture
def edge_proxy(proxy_port: int, backend: LoggingBackend, cli, monkeypatch: pytest.MonkeyPatch
               ) -> Callable[..., int]:
    """`start(**environment)`: the proxy started by `portside alias app BACKEND` with these PORTSIDE_PROXY_*
    variables set; its port."""

    def start(**environment: str) -> int:
        for name, value in environment.items():
            monkeypatch.setenv(f"PORTSIDE_PROXY_{name.upper()}", value)
        assert cli("alias", "app", str(backend.port)).status == 0
        return proxy_port

    return start


def exchange(port: int, *pieces: bytes, pause: float = 0.0, timeout: float = 10.0) -> bytes:
    """Send `pieces` (each on its own, `pause` apart), half-close, and read until the proxy closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for piece in pieces:
                sock.sendall(piece)
                time.sleep(pause)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the proxy may refuse and close before everything was sent
            pass
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except ConnectionResetError:
            pass
        return reply


class Reply(NamedTuple):
    status: int
    body: bytes


class _Replies:
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.found: list[Reply] = []
        self.body = b""

    def on_message_begin(self) -> None:
        self.body = b""

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.found.append(Reply(self.parser.get_status_code(), self.body))


def replies(data: bytes) -> list[Reply]:
    """The complete responses in `data`, in order (parsed by httptools, not by the proxy's own reader)."""
    parsed = _Replies()
    parsed.parser.feed_data(data)
    return parsed.found


def statuses(data: bytes) -> list[int]:
    return [reply.status for reply in replies(data)]


# 1. Upgrade: parsed and routed until the backend answers 101


def test_a_declined_upgrade_does_not_let_the_next_request_past_the_routing(edge_proxy, backend) -> None:
    port = edge_proxy()
    got = replies(exchange(port, ISSUE_UPGRADE))
    assert [r.status for r in got] == [200, 421] and b"evil.com is not a .localhost name" in got[1].body
    assert [seen.target for seen in backend.requests] == [b"/upg"]
    assert b"evil.com" not in backend.raw and b"6.6.6.6" not in backend.raw
    assert backend.requests[0].header(b"x-forwarded-for") == [b"127.0.0.1"] and not backend.errors


def test_x_forwarded_fields_are_rebuilt_for_every_request_after_a_declined_upgrade(edge_proxy, backend) -> None:
    port = edge_proxy()
    second = b"GET /two HTTP/1.1\r\nHost: app.localhost\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: x\r\n\r\n"
    assert statuses(exchange(port, ISSUE_UPGRADE.split(b"GET / ")[0], second)) == [200, 200]
    assert [seen.target for seen in backend.requests] == [b"/upg", b"/two"]
    for seen in backend.requests:
        assert seen.header(b"x-forwarded-for") == [b"127.0.0.1"]
        assert seen.header(b"x-forwarded-host") == [b"app.localhost"]


# 2. Limits, with the status nginx would give (431 where nginx says 400 "Request Header Or Cookie Too Large")

LIMITS = {
    "request-line-at-the-limit": (b"GET /" + b"a" * (8192 - 14) + b" HTTP/1.1\r\nHost: app.localhost\r\n\r\n", 200),
    "request-line-over": (b"GET /" + b"a" * (8192 - 13) + b" HTTP/1.1\r\nHost: app.localhost\r\n\r\n", 414),
    "header-line-at-the-limit": (b"GET / HTTP/1.1\r\nHost: app.localhost\r\nX: " + b"a" * (8192 - 3) + b"\r\n\r\n",
                                 200),
    "header-line-over": (b"GET / HTTP/1.1\r\nHost: app.localhost\r\nX: " + b"a" * (8192 - 2) + b"\r\n\r\n", 431),
    "host-of-10-kb": (b"GET / HTTP/1.1\r\nHost: " + b"a" * 10_000 + b".app.localhost\r\n\r\n", 431),
    "100-header-lines": (b"GET / HTTP/1.1\r\nHost: app.localhost\r\n" + b"X: a\r\n" * 99 + b"\r\n", 200),
    "101-header-lines": (b"GET / HTTP/1.1\r\nHost: app.localhost\r\n" + b"X: a\r\n" * 100 + b"\r\n", 431),
    "head-over-64-kb": (b"GET / HTTP/1.1\r\nHost: app.localhost\r\n" +
                        b"".join(b"X%d: %s\r\n" % (i, b"a" * 7000) for i in range(10)) + b"\r\n", 431),
}


@pytest.mark.parametrize(("request_bytes", "status"), LIMITS.values(), ids=LIMITS.keys())
def test_limits_give_their_status_before_the_close(edge_proxy, backend, request_bytes: bytes, status: int) -> None:
    port = edge_proxy()
    reply = exchange(port, request_bytes)
    assert statuses(reply) == [status]
    assert len(backend.requests) == (1 if status == 200 else 0)


def test_limits_are_set_by_the_environment(edge_proxy, backend) -> None:
    port = edge_proxy(max_line="100", max_headers="5", max_head="300")
    head = b"GET / HTTP/1.1\r\nHost: app.localhost\r\n"  # 16 + 21 bytes
    assert statuses(exchange(port, b"GET /" + b"a" * 86 + b" HTTP/1.1\r\nHost: app.localhost\r\n\r\n")) == [200]
    assert statuses(exchange(port, b"GET /" + b"a" * 87 + b" HTTP/1.1\r\nHost: app.localhost\r\n\r\n")) == [414]
    assert statuses(exchange(port, head + b"X: a\r\n" * 4 + b"\r\n")) == [200]
    assert statuses(exchange(port, head + b"X: a\r\n" * 5 + b"\r\n")) == [431]
    lines = b"".join(b"X%d: %s\r\n" % (i, b"a" * 90) for i in range(2))  # 2 x 96 bytes: 229 in all
    assert statuses(exchange(port, head + lines + b"\r\n")) == [200]
    assert statuses(exchange(port, head + lines + b"X2: " + b"a" * 90 + b"\r\n\r\n")) == [431]  # 325
    assert len(backend.requests) == 3 and not backend.errors


def test_a_bad_limit_is_one_line_and_exit_2(proxy_port: int, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTSIDE_PROXY_HEADER_TIMEOUT", "soon")
    result = cli("proxy", "start")
    assert result.status == 2 and result.stderr.count("\n") == 1 and "PORTSIDE_PROXY_HEADER_TIMEOUT" in result.stderr
    assert control.running() is None


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def flood(port: int, head: bytes, filler: bytes, total: int) -> tuple[bytes, int]:
    """Send `head`, then `filler` over and over up to `total` bytes; stop once the proxy answers or closes.
    Returns what the proxy sent and how many bytes were sent."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setblocking(False)
    pending, sent, reply = memoryview(head), 0, b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock] if sent < total else [], [], 1.0)
            if readable:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
                continue
            if writable:
                if not pending:
                    pending = memoryview(filler)
                count = sock.send(pending)
                sent, pending = sent + count, pending[count:]
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        sock.close()
    return reply, sent


FLOODS = {
    "header-lines": b"".join(b"X-Flood-%d: %s\r\n" % (i, b"f" * 1000) for i in range(64)),
    "one-endless-line": b"f" * 65536,
}


@pytest.mark.parametrize("filler", FLOODS.values(), ids=FLOODS.keys())
def test_a_header_flood_is_refused_at_the_limit_and_memory_stays_flat(edge_proxy, backend, filler: bytes) -> None:
    port = edge_proxy()
    assert statuses(exchange(port, b"GET / HTTP/1.1\r\nHost: app.localhost\r\n\r\n")) == [200]  # warm
    record = control.running()
    assert record is not None
    before = rss_kib(record.pid)
    reply, sent = flood(port, b"GET / HTTP/1.1\r\nHost: app.localhost\r\nX-Flood: ", filler, 50 * 2**20)
    after = rss_kib(record.pid)
    assert statuses(reply) == [431], reply[:200]
    assert sent < 8 * 2**20, f"the proxy read {sent} bytes before it refused"
    assert after - before < 10 * 1024, f"the proxy grew from {before} to {after} KiB"
    assert len(backend.requests) == 1 and b"X-Flood" not in backend.raw


# 3. Pipelining: answer what came before, then the error, then close

PIPELINES = {
    "garbage-after-a-request": (b"GET /a HTTP/1.1\r\nHost: app.localhost\r\n\r\nGARBAGE\x01\r\n\r\n", [200, 400], 1),
    "a-request-after-connection-close": ((b"GET /a HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n"
                                         b"GET /b HTTP/1.1\r\nHost: app.localhost\r\n\r\n"), [200], 1),
    "a-request-after-http-1.0": ((b"GET /a HTTP/1.0\r\nHost: app.localhost\r\n\r\n"
                                 b"GET /b HTTP/1.1\r\nHost: app.localhost\r\n\r\n"), [200], 1),
    "two-then-a-refused-host": ((b"GET /a HTTP/1.1\r\nHost: app.localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: app.localhost"
                                b"\r\n\r\nGET /c HTTP/1.1\r\nHost: evil.com\r\n\r\nGET /d HTTP/1.1\r\nHost: app.localhost"
                                b"\r\n\r\n"), [200, 200, 421], 2),
}


@pytest.mark.parametrize(("request_bytes", "expected", "forwarded"), PIPELINES.values(), ids=PIPELINES.keys())
def test_pipelined_requests_are_answered_up_to_the_error(edge_proxy, backend, request_bytes: bytes,
                                                         expected: list[int], forwarded: int) -> None:
    port = edge_proxy()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:  # no half-close: the proxy ends it
        sock.sendall(request_bytes)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert statuses(reply) == expected
    assert len(backend.requests) == forwarded and not backend.errors


# 4. Framing: only a single `chunked` is forwarded; HTTP/1.0 and 1.1 only

FRAMING = {
    "gzip-then-chunked": ((b"POST / HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                          b"0\r\n\r\n"), 501),
    "empty-then-chunked": (b"POST / HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n",
                           501),
    "chunked-then-gzip": ((b"POST / HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                          b"0\r\n\r\n"), 501),
    "gzip": (b"POST / HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    "chunked-in-http-1.0": (b"POST / HTTP/1.0\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                            400),
    "http-2.0": (b"GET / HTTP/2.0\r\nHost: app.localhost\r\n\r\n", 505),
    "http-1.2": (b"GET / HTTP/1.2\r\nHost: app.localhost\r\n\r\n", 505),
    "http-0.9": (b"GET /\r\n\r\n", 505),
    "upgrade-with-a-body": ((b"POST / HTTP/1.1\r\nHost: app.localhost\r\nConnection: Upgrade\r\nUpgrade: foo\r\n"
                            b"Content-Length: 38\r\n\r\nGET / HTTP/1.1\r\nHost: evil.com\r\n\r\n"), 400),
    "space-in-the-target": (b"GET /a b HTTP/1.1\r\nHost: app.localhost\r\n\r\n", 400),
}


@pytest.mark.parametrize(("request_bytes", "status"), FRAMING.values(), ids=FRAMING.keys())
def test_framing_the_backend_could_read_otherwise_is_refused(edge_proxy, backend, request_bytes: bytes,
                                                            status: int) -> None:
    port = edge_proxy()
    assert statuses(exchange(port, request_bytes)) == [status]
    assert backend.requests == [] and backend.raw == b""


def test_chunked_alone_is_forwarded(edge_proxy, backend) -> None:
    port = edge_proxy()
    reply = exchange(port, b"POST /up HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: Chunked\r\n\r\n"
                           b"5\r\nhello\r\n0\r\n\r\n")
    assert statuses(reply) == [200] and backend.requests[0].body == b"hello"


# 5. Timeouts


def test_a_slowloris_gets_408_within_the_header_timeout(edge_proxy, backend) -> None:
    port = edge_proxy(header_timeout="1s")
    trickle = b"GET / HTTP/1.1\r\nHost: app.localhost\r\nX-Slow: " + b"a" * 100
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        began, reply = time.monotonic(), b""
        for byte in trickle:
            if select.select([sock], [], [], 0.1)[0]:
                break
            sock.sendall(bytes([byte]))
        while chunk := sock.recv(65536):
            reply += chunk
        took = time.monotonic() - began
    assert statuses(reply) == [408] and 1.0 <= took < 4.0, took
    assert backend.requests == []


def test_an_idle_connection_is_closed_after_the_idle_timeout(edge_proxy, backend) -> None:
    port = edge_proxy(idle_timeout="1s", header_timeout="5s")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
        assert statuses(sock.recv(65536)) == [200]
        began = time.monotonic()
        assert sock.recv(65536) == b"", "closed without a word: nothing was asked"
        took = time.monotonic() - began
    assert 0.9 <= took < 4.0, took


def test_the_timeouts_do_not_cut_a_slow_answer(edge_proxy, backend) -> None:
    port = edge_proxy(idle_timeout="1s", header_timeout="1s")
    reply = exchange(port, b"GET /slow HTTP/1.1\r\nHost: app.localhost\r\n\r\nGET /after HTTP/1.1\r\n"
                           b"Host: app.localhost\r\n\r\n")
    assert replies(reply) == [Reply(200, b"seen /slow"), Reply(200, b"seen /after")]


# HTTP/2: a :path that is not an HTTP/1.1 request target is refused (400), not passed on; idle connections end


def h2_socket(port: int, state_home: Path) -> ssl.SSLSocket:
    from portside.router.tls.localca import ensure_ca

    ensure_ca()
    context = ssl.create_default_context(cafile=str(state_home / "tls" / "ca.pem"))
    context.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock = context.wrap_socket(raw, server_hostname="app.localhost")
    assert sock.selected_alpn_protocol() == "h2"
    return sock


def test_an_idle_http2_connection_gets_goaway_and_is_closed(edge_proxy, backend, state_home: Path) -> None:
    from h2.config import H2Configuration
    from h2.connection import H2Connection
    from h2.events import ConnectionTerminated

    port = edge_proxy(idle_timeout="1s")
    with h2_socket(port, state_home) as sock:
        client = H2Connection(H2Configuration(client_side=True, header_encoding=None))
        client.initiate_connection()
        sock.sendall(client.data_to_send())
        began, events = time.monotonic(), []
        while data := sock.recv(65536):
            events += client.receive_data(data)
        took = time.monotonic() - began
    assert any(isinstance(event, ConnectionTerminated) for event in events) and 0.9 <= took < 4.0, took


def h2_exchange(port: int, state_home: Path, headers: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """One request on a new HTTP/2 connection, sent as given (no checks by the client): status and body."""
    from h2.config import H2Configuration
    from h2.connection import H2Connection
    from h2.events import DataReceived, ResponseReceived, StreamEnded

    with h2_socket(port, state_home) as sock:
        client = H2Connection(H2Configuration(client_side=True, header_encoding=None, validate_outbound_headers=False,
                                              normalize_outbound_headers=False))
        client.initiate_connection()
        client.send_headers(1, headers, end_stream=True)
        sock.sendall(client.data_to_send())
        status, body, ended = b"", b"", False
        while not ended:
            data = sock.recv(65536)
            assert data, "the proxy closed the connection"
            for event in client.receive_data(data):
                if isinstance(event, ResponseReceived):
                    status = dict(event.headers)[b":status"]
                elif isinstance(event, DataReceived):
                    body += event.data
                elif isinstance(event, StreamEnded):
                    ended = True
            sock.sendall(client.data_to_send())
    return status, body


@pytest.mark.parametrize(("method", "path"), [(b"GET", b"/a b"), (b"GET", b"/a\tb"), (b"GET", b"a"),
                                              (b"GET", b"*"), (b"GET /x HTTP/1.1", b"/"), (b"GET", b"/\xc3\xa9")])
def test_http2_requests_that_http1_cannot_carry_get_400(edge_proxy, backend, state_home: Path, method: bytes,
                                                        path: bytes) -> None:
    port = edge_proxy()
    status, body = h2_exchange(port, state_home, [(b":method", method), (b":path", path), (b":scheme", b"https"),
                                                  (b":authority", b"app.localhost")])
    assert status == b"400" and b"400 Bad Request" in body
    assert backend.raw == b""


H2_BASE = [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"https"), (b":authority", b"app.localhost")]


@pytest.mark.parametrize("headers", [
    [*H2_BASE, (b"x-a", b"1\r\nX-Smuggled: 1")], [*H2_BASE, (b"x-a", b"1\n")], [*H2_BASE, (b"x-a", b"\x001")],
    [*H2_BASE, (b"X-Upper", b"1")], [*H2_BASE, (b"x a", b"1")], [*H2_BASE, (b"x:a", b"1")],
    [*H2_BASE, (b":protocol", b"websocket")], [*H2_BASE, (b":path", b"/again")], [(b"x-a", b"1"), *H2_BASE],
    H2_BASE[1:], [*H2_BASE[:2], H2_BASE[3]], [*H2_BASE, (b"content-length", b"40")],
], ids=["crlf", "lf", "nul", "upper-case-name", "space-in-name", "colon-in-name", "unknown-pseudo",
        "repeated-pseudo", "pseudo-after-field", "no-method", "no-scheme", "length-without-body"])
def test_http2_header_blocks_h2_no_longer_checks_get_400(edge_proxy, backend, state_home: Path,
                                                         headers: list[tuple[bytes, bytes]]) -> None:
    port = edge_proxy()
    status, body = h2_exchange(port, state_home, headers)
    assert status == b"400" and b"400 Bad Request" in body
    assert backend.raw == b""


def test_http2_streams_of_different_connections_share_kept_alive_backend_connections(edge_proxy, backend,
                                                                                     state_home: Path) -> None:
    port = edge_proxy()
    for path in (b"/one", b"/two", b"/three"):
        assert h2_exchange(port, state_home, [*H2_BASE[:1], (b":path", path), *H2_BASE[2:]]) == (
            b"200", b"seen " + path)
    assert [seen.target for seen in backend.requests] == [b"/one", b"/two", b"/three"] and backend.accepted == 1


# The fuzz: whatever the client sends, the backend only sees requests routed to it

# Each request starts well-formed and takes up to two hostile parts, so most get far enough to be routed.
SMUGGLED = b"GET / HTTP/1.1\r\nHost: evil.com\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n"
WELL_FORMED = {
    "method": [b"GET", b"POST", b"HEAD", b"OPTIONS", b"PUT"],
    "target": [b"/", b"/a?b=c", b"http://app.localhost/x"],
    "version": [b"HTTP/1.1"] * 3 + [b"HTTP/1.0"],
    "host": [b"Host: app.localhost\r\n", b"Host: APP.localhost:7355\r\n", b"Host: api.app.localhost\r\n",
             b"Host: app.localhost.\r\n"],
    "fields": [b"", b"", b"Accept: */*\r\n", b"Connection: keep-alive\r\n",
               b"Connection: Upgrade\r\nUpgrade: websocket\r\n"],
}
HOSTILE = {
    "method": [b"get", b"G ET", b"CONNECT"],
    "target": [b"*", b"http://evil.com/", b"http://u@app.localhost/", b"evil.com:443", b"/a b", b"//evil.com/",
               b"http://app.localhost?q"],
    "version": [b"HTTP/2.0", b"HTTP/1.2", b""],
    "host": [b"", b"Host: evil.com\r\n", b"Host: app.localhost.evil.com\r\n", b"Host: 127.0.0.1\r\n", b"Host: \r\n",
             b"Host: app.localhost, evil.com\r\n", b"Host: app.localhost\r\nHost: evil.com\r\n",
             b"Host: app.localhost:x\r\n", b"Host: nope.localhost\r\n", b"Host: app.localhost evil.com\r\n"],
    "fields": [b"X-Forwarded-For: 6.6.6.6\r\n", b"X-Forwarded-Host: evil.com\r\n", b"Connection: close\r\n",
               b"Upgrade: foo\r\nConnection: Upgrade\r\n", b"Transfer-Encoding: gzip, chunked\r\n",
               b"Transfer-Encoding: ,chunked\r\n", b"Content-Length: 5\r\n", b"Content-Length: -1\r\n",
               b"Content-Length: 5, 5\r\n", b"Expect: 100-continue\r\n", b" folded\r\n", b"X: a\rb\r\n",
               b"X\x00: 1\r\n"],
    "body": [b"hello", SMUGGLED, b"5\r\nhello\r\n0\r\n\r\n"],
}
FRAMINGS = st.one_of(
    st.just((b"", b"")),
    st.sampled_from([b"", b"hello", SMUGGLED]).map(lambda body: (b"Content-Length: %d\r\n" % len(body), body)),
    st.sampled_from([b"", b"hello", SMUGGLED]).map(
        lambda body: (b"Transfer-Encoding: chunked\r\n", (b"%x\r\n%s\r\n" % (len(body), body) if body else b"")
                      + b"0\r\n\r\n")))


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    part = {key: draw(st.sampled_from(choices)) for key, choices in WELL_FORMED.items()}
    framing, body = draw(FRAMINGS)
    for key in draw(st.lists(st.sampled_from(sorted(HOSTILE)), max_size=2)):
        hostile = draw(st.sampled_from(HOSTILE[key]))
        if key == "fields":
            part["fields"] += hostile
        elif key == "body":
            body += hostile
        else:
            part[key] = hostile
    return b"%s %s %s\r\n%s%s%s\r\n%s" % (part["method"], part["target"], part["version"], part["host"],
                                           part["fields"], framing, body)


def routed_here(seen: Seen) -> bool:
    """One Host, naming app.localhost (or a name under it), and the proxy's own X-Forwarded-For."""
    hosts = seen.header(b"host")
    if len(hosts) != 1 or seen.header(b"x-forwarded-for") != [b"127.0.0.1"]:
        return False
    host = hosts[0].strip().lower()
    name = host.rsplit(b":", 1)[0] if host.rsplit(b":", 1)[-1].isdigit() else host.removesuffix(b":")
    name = name.rstrip(b".")
    return (name == b"app.localhost" or name.endswith(b".app.localhost")) and seen.target[:1] in (b"/", b"*")


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(requests(), min_size=1, max_size=4), st.one_of(st.just(b""), st.binary(max_size=30)),
       st.lists(st.integers(1, 64), min_size=1, max_size=8))
def test_fuzz_the_backend_only_sees_requests_routed_to_it(edge_proxy, backend, pipelined: list[bytes], junk: bytes,
                                                         sizes: list[int]) -> None:
    port = edge_proxy(header_timeout="2s", idle_timeout="2s")
    data = b"".join(pipelined) + junk
    pieces, start = [], 0
    while start < len(data):
        size = sizes[len(pieces) % len(sizes)]
        pieces.append(data[start:start + size])
        start += size
    with backend.lock:
        before = len(backend.requests), len(backend.errors)
    exchange(port, *pieces, timeout=5)
    with backend.lock:
        seen, errors = backend.requests[before[0]:], backend.errors[before[1]:]
    assert not errors, f"the backend could not parse what the proxy sent: {errors}"
    stray = [request for request in seen if not routed_here(request)]
    assert not stray, f"the backend saw requests not routed to it: {stray}"
