"""The proxy's sans-IO framing (router/http1.py) and routing rules (router/routing.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portside.model import Route
from portside.router.http1 import Data, End, Head, Reader, Refusal, Upgraded, encode_data, encode_end, encode_head
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
        assert head.status == 200 and head.chunked and isinstance(end, End), size
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
    head = Head(method, target.encode(), 0, b"", b"1.1", pairs, True, False)
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
