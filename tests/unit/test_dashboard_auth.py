"""The dashboard's auth decisions (portside.web.auth), one table row per rule; the parsers under Hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.web.auth import (
    Request,
    cookie_name,
    cookies,
    is_action_request,
    is_dashboard_host,
    is_loopback_peer,
    judge,
    origin_of,
    presented_token,
    token_matches,
)

PORT = 7355
SECRET = "ab" * 32
HOST = f"portside.localhost:{PORT}"
ORIGIN = f"http://portside.localhost:{PORT}"
COOKIE = f"{cookie_name(PORT)}={SECRET}"


def request(method: str = "GET", path: str = "/", *, query: dict[str, str] | None = None, peer: str = "127.0.0.1",
            scheme: str = "http", **headers: str) -> Request:
    fields = {"host": HOST, "cookie": COOKIE, **{k.replace("_", "-"): v for k, v in headers.items()}}
    return Request(method, path, query or {}, {k: v for k, v in fields.items() if v}, peer, scheme)


ACTION = {"origin": ORIGIN, "x_portside_action": "stop"}
CASES = [
    # (request, action?, expected status)
    (request(), False, 0),
    (request(host="portside.localhost"), False, 421),
    (request(host=f"portside.localhost:{PORT + 1}"), False, 421),
    (request(host=f"evil.example:{PORT}"), False, 421),
    (request(host=f"api.portside.localhost:{PORT}"), False, 421),
    (request(host=f"127.0.0.1:{PORT}"), False, 421),
    (request(host=f"PORTSIDE.localhost:{PORT}"), False, 0),
    (request(peer="198.51.100.7"), False, 403),
    (request(peer="::ffff:198.51.100.7"), False, 403),
    (request(peer="::ffff:127.0.0.1"), False, 0),
    (request(peer="::1"), False, 0),
    (request(peer=""), False, 403),
    (request(cookie=""), False, 403),
    (request(cookie=f"{cookie_name(PORT)}={'cd' * 32}"), False, 403),
    (request(cookie=f"{cookie_name(PORT + 1)}={SECRET}"), False, 403),
    (request(cookie="", authorization=f"Bearer {SECRET}"), False, 0),
    (request(cookie="", authorization=f"Basic {SECRET}"), False, 403),
    (request(path="/auth", cookie="", query={"token": SECRET}), False, 0),
    (request(path="/auth", query={"token": "x"}), False, 403),  # the hand-over URL takes the query's token only
    (request("POST", **ACTION), True, 0),
    (request("POST", origin=ORIGIN, content_type="application/json; charset=utf-8"), True, 0),
    (request("GET", **ACTION), True, 405),
    (request("POST", x_portside_action="stop"), True, 403),  # no Origin
    (request("POST", origin="null", x_portside_action="stop"), True, 403),
    (request("POST", origin=f"http://evil.localhost:{PORT}", x_portside_action="stop"), True, 403),
    (request("POST", origin=f"https://portside.localhost:{PORT}", x_portside_action="stop"), True, 403),
    (request("POST", origin=f"https://portside.localhost:{PORT}", x_portside_action="s", scheme="https"), True, 0),
    (request("POST", origin=ORIGIN), True, 403),  # a simple request
    (request("POST", origin=ORIGIN, content_type="text/plain"), True, 403),
    (request("POST", origin=ORIGIN, content_type="application/x-www-form-urlencoded"), True, 403),
    (request("POST", cookie="", **ACTION), True, 403),
]


@pytest.mark.parametrize(("asked", "action", "status"), CASES)
def test_judge(asked: Request, action: bool, status: int) -> None:
    assert judge(asked, SECRET, PORT, action=action).status == status


def test_an_empty_secret_lets_nothing_in() -> None:
    assert judge(request(cookie=f"{cookie_name(PORT)}="), "", PORT, action=False).status == 403
    assert not token_matches("", "") and not token_matches(None, SECRET)


@pytest.mark.parametrize(("host", "port", "expected"), [
    ("portside.localhost:80", 80, True), ("portside.localhost", 80, True), ("portside.localhost", 443, True),
    ("portside.localhost", 8080, False), (" Portside.Localhost:8080 ", 8080, True), ("portside.localhost.:8080", 8080,
                                                                                      False),
    ("portside.localhost:08080", 8080, False), ("", 8080, False),
])
def test_dashboard_host(host: str, port: int, expected: bool) -> None:
    assert is_dashboard_host(host, port) is expected


@pytest.mark.parametrize(("peer", "expected"), [
    ("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("::ffff:127.0.0.1", True), ("::1%lo", True),
    ("10.0.0.1", False), ("::", False), ("0.0.0.0", False), ("fe80::1", False), ("localhost", False), ("", False),
])
def test_loopback_peer(peer: str, expected: bool) -> None:
    assert is_loopback_peer(peer) is expected


def test_origin_leaves_out_the_default_port() -> None:
    assert origin_of("http", 80) == "http://portside.localhost"
    assert origin_of("https", 443) == "https://portside.localhost"
    assert origin_of("https", 7355) == "https://portside.localhost:7355"


def test_cookies_first_wins_and_quotes_go() -> None:
    assert cookies('a=1; b="2"; a=3; junk; =x') == {"a": "1", "b": "2"}


def test_action_request_needs_the_header_or_json() -> None:
    present = request("POST")
    assert is_action_request(present._replace(headers={**present.headers, "x-portside-action": ""}))  # even empty
    assert not is_action_request(request("POST", content_type="multipart/form-data"))


@given(st.text(max_size=200))
def test_cookie_parser_never_fails(header: str) -> None:
    found = cookies(header)
    assert all(name and "=" not in name for name in found)


@given(st.text(max_size=100), st.text(max_size=100))
def test_token_reading_never_fails_and_only_the_secret_matches(cookie: str, authorization: str) -> None:
    asked = request(cookie=cookie, authorization=authorization)
    presented = presented_token(asked, PORT)
    assert token_matches(presented, SECRET) == (presented == SECRET)
