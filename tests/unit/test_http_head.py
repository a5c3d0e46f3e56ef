"""The sans-IO HTTP response-head parser: captured answers, fed at every chunk size, and garbage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.probing.http import NotHttp, ResponseHead, parse_response_head

NGINX_404 = (
    b"HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
    b"Content-Type: text/html\r\nContent-Length: 153\r\nConnection: close\r\n\r\n<html>"
)
PYTHON_200 = (
    b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nDate: Tue, 24 Nov 2026 10:00:00 GMT\r\n"
    b"Content-type: text/html; charset=utf-8\r\nContent-Length: 10\r\n\r\n0123456789"
)
BARE_LF = b"HTTP/1.1 204\nX-A: 1\n\n"


def feed(data: bytes, size: int) -> ResponseHead | None:
    received = b""
    for start in range(0, len(data), size):
        received += data[start : start + size]
        head = parse_response_head(received)
        if head is not None:
            return head
    return None


@pytest.mark.parametrize(("data", "status", "header"), [
    (NGINX_404, 404, ("server", "nginx/1.22.1")),
    (PYTHON_200, 200, ("content-type", "text/html; charset=utf-8")),
    (BARE_LF, 204, ("x-a", "1")),
])
def test_every_chunk_size_gives_the_same_head(data: bytes, status: int, header: tuple[str, str]) -> None:
    whole = parse_response_head(data)
    assert whole is not None and whole.status == status
    assert whole.header(header[0]) == header[1]
    for size in range(1, len(data) + 1):
        assert feed(data, size) == whole


@pytest.mark.parametrize("data", [b"SSH-2.0-OpenSSH_9.2\r\n", b"+PONG\r\n", b"\x16\x03\x01", b"HTTP/2 200\r\n\r\n",
                                  b"HTTP/1.1 20 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nbroken header\r\n\r\n"])
def test_not_http_is_said_early(data: bytes) -> None:
    with pytest.raises(NotHttp):
        parse_response_head(data)


def test_incomplete_head_asks_for_more() -> None:
    assert parse_response_head(b"") is None
    assert parse_response_head(b"HTT") is None
    assert parse_response_head(b"HTTP/1.1 200 OK\r\nServer: x\r\n") is None


def test_endless_head_is_refused() -> None:
    with pytest.raises(NotHttp, match="no end"):
        parse_response_head(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 20000)


@given(st.binary(max_size=300))
def test_garbage_raises_only_not_http(data: bytes) -> None:
    try:
        parse_response_head(data)
    except NotHttp:
        pass


header_name = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
header_value = st.text("abcdefghijklmnopqrstuvwxyz0123456789 /;=.", max_size=20).map(str.strip)


@given(st.integers(100, 599), st.lists(st.tuples(header_name, header_value), max_size=6), st.integers(1, 40))
def test_generated_heads_round_trip(status: int, headers: list[tuple[str, str]], size: int) -> None:
    data = f"HTTP/1.1 {status} Whatever\r\n".encode() + b"".join(
        f"{name}: {value}\r\n".encode() for name, value in headers
    ) + b"\r\nbody"
    head = feed(data, size)
    assert head == ResponseHead("HTTP/1.1", status, "Whatever", tuple(headers))
