"""The proxy's sans-IO framing (router/http1.py) and routing rules (router/routing.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.model import Route
from portside.router.http1 import Data, End, Head, Reader, Refusal, Upgraded, encode_data, encode_end, encode_head
from portside.router.limits import Limits
from portside.router.routing import decide, route_for

CHROME_GET = (  # shaped like a request of Chromium 156 (header order and values), written by hand
    b"GET /app.js?v=3 HTTP/1.1\r\nHost: app.localhost:7355\r\nConnection: keep-alive\r\n"
    b"sec-ch-ua-platform: \"Linux\"\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0\r\n"
    b"Accept: */*\r\nSec-Fetch-Mode: no-cors\r\nReferer: http://app.localhost:7355/\r\n"
    b"Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US\r\n\r\n"
)
WS_UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: app.localhost:7355\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f"
    b"\x4d\x51\x58"
)
CHUNKED_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"f\r\ndata: event 0\n\n\r\nf\r\ndata: event 1\n\n\r\n0\r\n\r\n"
)


def events_at_chunk_size(reader_factory, data: bytes, size: int) -> list:  # type: ignore[no-untyped-def,type-arg]
    reader, events = reader_factory(), []
    for start in range(0, len(data), size):
        events.extend(reader.feed(data[start : start + size]))
    return events


def merged(events: list) -> list:  # type: ignore[type-arg]
    """Adjacent Data events joined, so results at different chunk sizes compare equal."""
    out: list = []  # type: ignore[type-arg]
    for event in events:
        if isinstance(event, Data) and out and isinstance(out[-1], Data):
            out[-1] = Data(out[-1].data + event.data)
        else:
            out.append(event)
    return out


def test_captured_browser_request_at_every_chunk_size() -> None:
    for size in range(1, len(CHROME_GET) + 1):
        head, end = events_at_chunk_size(lambda: Reader(response=False), CHROME_GET, size)
        assert isinstance(head, Head) and isinstance(end, End), size
        assert head.method == b"GET" and head.target == b"/app.js?v=3" and head.keep_alive
        assert head.header(b"host") == b"app.localhost:7355" and encode_head(head) == CHROME_GET


def test_websocket_upgrade_hands_over_the_rest_once_accepted_at_every_chunk_size() -> None:
    frame = WS_UPGRADE[WS_UPGRADE.index(b"\r\n\r\n") + 4 :]
    for size in range(1, len(WS_UPGRADE) + 1):
        reader = Reader(response=False)
        events = events_at_chunk_size(lambda: reader, WS_UPGRADE, size)  # noqa: B023 (used at once)
        assert [type(e) for e in events] == [Head, End] and events[0].upgrade and reader.holding, size
        assert reader.upgrade(True) == [Upgraded(frame)] and not reader.holding, size
        assert reader.feed(b"\x88\x00") == [Data(b"\x88\x00")], "after the switch, bytes pass as they are"


def test_chunked_response_is_streamed_and_rechunked_at_every_chunk_size() -> None:
    for size in range(1, len(CHUNKED_RESPONSE) + 1):
        head, *body, end = merged(events_at_chunk_size(lambda: Reader(response=True), CHUNKED_RESPONSE, size))
        assert head.status == 200 and isinstance(end, End), size
        assert body == [Data(b"data: event 0\n\ndata: event 1\n\n")]
        wire = encode_head(head) + b"".join(encode_data(d.data, True) for d in body) + encode_end(True)
        assert merged(Reader(response=True).feed(wire)) == [head, *body, end]


def test_head_response_ends_with_its_headers() -> None:
    reader = Reader(response=True)
    reader.head_only()
    events = reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
    assert [type(e) for e in events] == [Head, End]
    assert [type(e) for e in reader.feed(b"HTTP/1.1 204 No Content\r\n\r\n")] == [Head, End]


@given(st.binary(max_size=300), st.booleans())
def test_any_bytes_give_events_and_a_refusal_comes_last(data: bytes, response: bool) -> None:
    reader = Reader(response=response)
    events = reader.feed(data)
    assert all(isinstance(event, Head | Data | End | Upgraded | Refusal) for event in events)
    refusals = [i for i, event in enumerate(events) if isinstance(event, Refusal)]
    assert refusals in ([], [len(events) - 1])
    if refusals:
        assert reader.feed(b"GET / HTTP/1.1\r\nHost: a.localhost\r\n\r\n") == [], "nothing is read after a refusal"


tokens = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True)
values = st.from_regex(r"[ -~]{0,40}", fullmatch=True).map(str.strip)


@given(st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"PATCH"]),
       st.from_regex(r"/[a-z0-9/._?=&-]{0,30}", fullmatch=True),
       st.lists(st.tuples(tokens, values), max_size=6), st.lists(st.binary(min_size=1, max_size=50), max_size=4),
       st.integers(1, 64))
def test_requests_survive_a_round_trip(method: bytes, target: str, headers: list[tuple[str, str]],
                                       chunks: list[bytes], size: int) -> None:
    pairs = [(k.encode(), v.encode()) for k, v in headers
             if k.lower() not in ("content-length", "transfer-encoding", "connection", "upgrade")]
    pairs += [(b"Host", b"app.localhost"), (b"Transfer-Encoding", b"chunked")]
    head = Head(method, target.encode(), 0, b"", b"1.1", pairs, True, False, chunked=True)
    wire = encode_head(head) + b"".join(encode_data(c, True) for c in chunks) + encode_end(True)
    events = merged(events_at_chunk_size(lambda: Reader(response=False), wire, size))
    assert events[0] == head
    assert events[1:] == ([Data(b"".join(chunks))] if chunks else []) + [End()]


ROUTES = {name: Route(name, port, "run", None, None, 0.0) for name, port in (("shop", 1), ("api.shop", 2), ("x", 3))}


def test_route_for_falls_back_to_parent_names() -> None:
    assert route_for("api.shop", ROUTES) is ROUTES["api.shop"]
    assert route_for("v2.api.shop", ROUTES) is ROUTES["api.shop"]
    assert route_for("admin.shop", ROUTES) is ROUTES["shop"]
    assert route_for("shopx", ROUTES) is None


def test_decisions() -> None:
    assert decide([b"shop.localhost:7355"], b"/", ROUTES).route is ROUTES["shop"]
    assert decide([b"SHOP.LOCALHOST."], b"/", ROUTES).route is ROUTES["shop"]
    assert decide([b"x"], b"http://shop.localhost/a", ROUTES).route is ROUTES["shop"]
    assert decide([], b"/", ROUTES).status == 400
    assert decide([b"shop.localhost", b"evil.com"], b"/", ROUTES).status == 400
    assert decide([b"shop.localhost"], b"http://evil.com/", ROUTES).status == 400
    assert decide([b"shop.localhost"], b"evil.com:443", ROUTES).status == 400
    assert decide([b"evil.com"], b"/", ROUTES).status == 421
    assert decide([b"shop.localhost.evil.com"], b"/", ROUTES).status == 421
    assert decide([b"127.0.0.1:7355"], b"/", ROUTES).status == 404
    assert decide([b"[::1]:7355"], b"/", ROUTES).status == 404
    assert decide([b"nope.localhost"], b"/", ROUTES).status == 404
    assert decide([b"shop.localhost:http"], b"/", ROUTES).status == 400


@given(st.lists(st.binary(max_size=60), max_size=2), st.binary(max_size=60))
def test_any_host_and_target_get_a_decision(hosts: list[bytes], target: bytes) -> None:
    decision = decide(hosts, target, ROUTES)
    assert (decision.route is not None) == (decision.status == 0)
    assert decision.status in (0, 400, 404, 421)
    if decision.route is not None:
        assert len(hosts) <= 1


# What the request reader refuses, and with which status (nginx's where it has one); limits made small here
SMALL = Limits(line=64, head=256, fields=5)
OK = b"GET / HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
REFUSALS = {
    "request-line-at-the-limit": (b"GET /" + b"a" * 50 + b" HTTP/1.1\r\n\r\n", ["Head", "End"]),
    "request-line-over": (b"GET /" + b"a" * 51 + b" HTTP/1.1\r\n\r\n", [414]),
    "target-alone-over": (b"GET /" + b"a" * 200, [414]),
    "header-line-at-the-limit": (b"GET / HTTP/1.1\r\nX: " + b"a" * 61 + b"\r\n\r\n", ["Head", "End"]),
    "header-line-over": (b"GET / HTTP/1.1\r\nX: " + b"a" * 62 + b"\r\n\r\n", [431]),
    "five-header-lines": (b"GET / HTTP/1.1\r\n" + b"X: a\r\n" * 5 + b"\r\n", ["Head", "End"]),
    "six-header-lines": (b"GET / HTTP/1.1\r\n" + b"X: a\r\n" * 6 + b"\r\n", [431]),
    "head-at-the-limit": (b"GET / HTTP/1.1\r\n" + b"".join(b"%d: %s\r\n" % (i, b"a" * 55) for i in range(4)) + b"\r\n",
                          ["Head", "End"]),  # 16 + 4 x 60 bytes
    "head-over": (b"GET / HTTP/1.1\r\n" + b"".join(b"%d: %s\r\n" % (i, b"a" * 55) for i in range(3)) +
                  b"3: " + b"a" * 56 + b"\r\n\r\n", [431]),
    "http-2.0": (b"GET / HTTP/2.0\r\n\r\n", [505]),
    "http-1.2": (b"GET / HTTP/1.2\r\n\r\n", [505]),
    "http-0.9": (b"GET /\r\n\r\n", [505]),
    "gzip-then-chunked": (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", [501]),
    "empty-then-chunked": (b"POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n", [501]),
    "chunked-then-gzip": (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", [501]),
    "gzip": (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", [501]),
    "chunked-twice": (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                      [501]),
    "chunked-in-any-case": (b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked \r\n\r\n1\r\na\r\n0\r\n\r\n",
                            ["Head", "Data", "End"]),
    "chunked-with-content-length": (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", [400]),
    "chunked-in-http-1.0": (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400]),
    "upgrade-with-a-body": (b"POST / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: foo\r\nContent-Length: 1\r\n\r\nx", [400]),
    "space-in-the-target": (b"GET /a b HTTP/1.1\r\n\r\n", [400]),
    "garbage-after-a-request": (OK + b"GARBAGE\x01\r\n\r\n", ["Head", "End", 400]),
    "a-request-after-connection-close": (b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n" + OK, ["Head", "End"]),
    "a-request-after-http-1.0": (b"GET / HTTP/1.0\r\n\r\n" + OK, ["Head", "End"]),
    "http-1.0-keep-alive-goes-on": (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + OK,
                                    ["Head", "End", "Head", "End"]),
}


def outline(events: list) -> list:  # type: ignore[type-arg]
    """Event type names, a refusal as its status; adjacent Data merged."""
    return [e.status if isinstance(e, Refusal) else type(e).__name__ for e in merged(events)]


@pytest.mark.parametrize(("data", "expected"), REFUSALS.values(), ids=REFUSALS.keys())
def test_refusals_at_every_chunk_size(data: bytes, expected: list) -> None:  # type: ignore[type-arg]
    for size in range(1, len(data) + 1):
        reader = Reader(response=False, limits=SMALL)
        events = events_at_chunk_size(lambda: reader, data, size)  # noqa: B023 (used at once)
        assert outline(events) == expected, size
        assert reader.feed(OK) == [] or expected[-1] == "End", "after a refusal or a closing request: nothing"


ISSUE_UPGRADE = (b"GET /upg HTTP/1.1\r\nHost: app.localhost\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n"
                 b"GET / HTTP/1.1\r\nHost: evil.com\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n")


@pytest.mark.parametrize("accepted", [False, True], ids=["declined", "accepted"])
def test_after_an_upgrade_request_the_rest_waits_for_the_backends_answer(accepted: bool) -> None:
    rest = ISSUE_UPGRADE[ISSUE_UPGRADE.index(b"\r\n\r\n") + 4 :]
    for size in range(1, len(ISSUE_UPGRADE) + 1):
        reader = Reader(response=False)
        events = events_at_chunk_size(lambda: reader, ISSUE_UPGRADE, size)  # noqa: B023 (used at once)
        assert outline(events) == ["Head", "End"] and events[0].upgrade and reader.holding, size
        after = reader.upgrade(accepted)
        if accepted:
            assert after == [Upgraded(rest)]
        else:
            assert outline(after) == ["Head", "End"] and after[0].header(b"host") == b"evil.com", size


def test_a_flood_is_refused_at_the_limit_and_not_kept() -> None:
    for flood in (b"f" * 4096, b"X-F: " + b"f" * 4000 + b"\r\n"):
        reader = Reader(response=False)
        events, fed = reader.feed(b"GET / HTTP/1.1\r\nX-Flood: "), 0
        while not events:
            events, fed = reader.feed(flood), fed + len(flood)
            assert fed < 100_000, "still reading"
        assert outline(events) == [431]
        assert reader.feed(flood * 100) == []


def test_trailers_are_counted_not_kept() -> None:
    reader = Reader(response=False, limits=SMALL)
    head, data, end = reader.feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nT: x\r\n\r\n")
    assert isinstance(head, Head) and head.headers == [(b"Transfer-Encoding", b"chunked")]
    assert (data, end) == (Data(b"a"), End())
    flood = Reader(response=False, limits=SMALL).feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" +
                                                       b"T: x\r\n" * 7)
    assert outline(flood) == ["Head", 431]


def test_a_response_head_is_bounded_in_total_only() -> None:
    long_line = b"HTTP/1.1 200 OK\r\nSet-Cookie: " + b"c" * 20_000 + b"\r\nContent-Length: 0\r\n\r\n"
    assert outline(Reader(response=True).feed(long_line)) == ["Head", "End"]
    reader, events, fed = Reader(response=True), [], 0
    reader.feed(b"HTTP/1.1 200 OK\r\nX: ")
    while not events and fed < 100_000:
        events, fed = reader.feed(b"c" * 4096), fed + 4096
    assert outline(events) == [431] and fed < 70_000
