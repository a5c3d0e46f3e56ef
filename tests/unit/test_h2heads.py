"""The proxy's HTTP/2 <-> HTTP/1.1 head translation (router/h2heads.py): header blocks in, heads out, exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.router.h2heads import HOP_BY_HOP, Request, backend_head, malformed, refusal, request, response_fields
from portside.router.http1 import Head, Reader

BASE = [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"app.localhost:8443"), (b":path", b"/")]
FORWARDED = b"X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: app.localhost:8443\r\n"

REQUESTS = {
    "get": (
        BASE, True,
        Request(b"GET", b"/", (b"app.localhost:8443",), None, (), False)),
    "cookies-joined-once-at-the-end": (
        [*BASE, (b"cookie", b"a=1"), (b"accept", b"text/html"), (b"cookie", b"b=2")], True,
        Request(b"GET", b"/", (b"app.localhost:8443",), b"text/html",
                ((b"accept", b"text/html"), (b"cookie", b"a=1; b=2")), False)),
    "host-field-without-authority": (
        [(b":method", b"GET"), (b":path", b"/x?y=1"), (b"host", b"api.app.localhost")], True,
        Request(b"GET", b"/x?y=1", (b"api.app.localhost",), None, ((b"host", b"api.app.localhost"),), False)),
    "authority-wins-over-host": (
        [*BASE, (b"host", b"other.localhost")], True,
        Request(b"GET", b"/", (b"app.localhost:8443",), None, ((b"host", b"other.localhost"),), False)),
    "no-host-at-all": (
        [(b":method", b"GET"), (b":path", b"/")], True,
        Request(b"GET", b"/", (), None, (), False)),
    "defaults-for-missing-pseudo-headers": (
        [(b":authority", b"app.localhost")], True,
        Request(b"GET", b"/", (b"app.localhost",), None, (), False)),
    "body-of-unknown-length-is-chunked": (
        [(b":method", b"POST"), (b":authority", b"app.localhost"), (b":path", b"/up")], False,
        Request(b"POST", b"/up", (b"app.localhost",), None, (), True)),
    "body-with-a-length-is-not": (
        [(b":method", b"POST"), (b":authority", b"app.localhost"), (b":path", b"/up"), (b"content-length", b"5")],
        False,
        Request(b"POST", b"/up", (b"app.localhost",), None, ((b"content-length", b"5"),), False)),
}


@pytest.mark.parametrize(("headers", "ended", "expected"), REQUESTS.values(), ids=REQUESTS.keys())
def test_request(headers: list[tuple[bytes, bytes]], ended: bool, expected: Request) -> None:
    assert request(headers, ended) == expected


HEADS = {
    "get": (
        BASE, True,
        b"GET / HTTP/1.1\r\nhost: app.localhost:8443\r\n" + FORWARDED + b"\r\n"),
    "hop-by-hop-dropped": (
        [*BASE, (b"te", b"trailers"), (b"connection", b"close"), (b"keep-alive", b"5"), (b"upgrade", b"h2c"),
         (b"proxy-connection", b"x"), (b"transfer-encoding", b"gzip"), (b"user-agent", b"curl/8")], True,
        b"GET / HTTP/1.1\r\nhost: app.localhost:8443\r\nuser-agent: curl/8\r\n" + FORWARDED + b"\r\n"),
    "clients-forwarded-fields-replaced": (
        [*BASE, (b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-host", b"evil.example"), (b"x-real", b"1")], True,
        b"GET / HTTP/1.1\r\nhost: app.localhost:8443\r\nx-real: 1\r\n" + FORWARDED + b"\r\n"),
    "authority-is-the-host-and-the-client-host-field-goes": (
        [*BASE, (b"host", b"other.localhost"), (b"accept", b"*/*")], True,
        b"GET / HTTP/1.1\r\nhost: app.localhost:8443\r\naccept: */*\r\n" + FORWARDED + b"\r\n"),
    "cookies-joined": (
        [*BASE, (b"cookie", b"a=1"), (b"cookie", b"b=2")], True,
        b"GET / HTTP/1.1\r\nhost: app.localhost:8443\r\ncookie: a=1; b=2\r\n" + FORWARDED + b"\r\n"),
    "streamed-body-chunked": (
        [(b":method", b"PUT"), (b":authority", b"app.localhost:8443"), (b":path", b"/f"),
         (b"content-type", b"text/plain")], False,
        b"PUT /f HTTP/1.1\r\nhost: app.localhost:8443\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n"
        + FORWARDED + b"\r\n"),
    "options-star": (
        [(b":method", b"OPTIONS"), (b":authority", b"app.localhost:8443"), (b":path", b"*")], True,
        b"OPTIONS * HTTP/1.1\r\nhost: app.localhost:8443\r\n" + FORWARDED + b"\r\n"),
}


@pytest.mark.parametrize(("headers", "ended", "expected"), HEADS.values(), ids=HEADS.keys())
def test_backend_head(headers: list[tuple[bytes, bytes]], ended: bool, expected: bytes) -> None:
    assert backend_head(request(headers, ended), peer="127.0.0.1", host="app.localhost:8443") == expected


def test_forwarded_for_and_host_are_the_peer_and_the_routed_host() -> None:
    head = backend_head(request(BASE, True), peer="::1", host="app.localhost")
    assert b"X-Forwarded-For: ::1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: app.localhost\r\n\r\n" in head


def response(status: int, *headers: tuple[bytes, bytes]) -> Head:
    return Head(b"", b"", status, b"", b"1.1", list(headers), True, False)


RESPONSES = {
    "fields-lower-case-in-order": (
        response(200, (b"Content-Type", b"text/html"), (b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2")),
        [(b":status", b"200"), (b"content-type", b"text/html"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")]),
    "connection-specific-dropped": (
        response(200, (b"Connection", b"keep-alive"), (b"Keep-Alive", b"timeout=5"), (b"Transfer-Encoding", b"chunked"),
                 (b"Upgrade", b"h2c"), (b"Proxy-Connection", b"x"), (b"TE", b"trailers"), (b"ETag", b'"v1"')),
        [(b":status", b"200"), (b"etag", b'"v1"')]),
    "no-fields": (response(204), [(b":status", b"204")]),
    "redirect": (
        response(302, (b"Location", b"/login")), [(b":status", b"302"), (b"location", b"/login")]),
}


@pytest.mark.parametrize(("head", "expected"), RESPONSES.values(), ids=RESPONSES.keys())
def test_response_fields(head: Head, expected: list[tuple[bytes, bytes]]) -> None:
    assert response_fields(head) == expected


# content-length is left out: a random value would be a malformed head, which the reader refuses
names = st.from_regex(r"[a-z][a-z0-9-]{0,14}", fullmatch=True).map(str.encode).filter(lambda n: n != b"content-length")
values = st.from_regex(r"[!-~]([ -~]{0,20}[!-~])?", fullmatch=True).map(str.encode)


@given(st.lists(st.tuples(st.one_of(names, st.sampled_from(sorted(HOP_BY_HOP | {b"host", b"cookie"}))), values),
                max_size=8), st.booleans())
def test_the_backend_reads_what_the_client_asked(fields: list[tuple[bytes, bytes]], ended: bool) -> None:
    """Parsed back by the proxy's own HTTP/1.1 reader: one host, no connection-specific fields, the rest in order."""
    asked = request([*BASE, *fields], ended)
    (parsed, *_) = Reader(response=False).feed(backend_head(asked, peer="127.0.0.1", host="app.localhost:8443"))
    assert isinstance(parsed, Head) and (parsed.method, parsed.target) == (b"GET", b"/")
    sent = [(name.lower(), value) for name, value in parsed.headers]
    assert sent[0] == (b"host", b"app.localhost:8443") and [name for name, _ in sent].count(b"host") == 1
    kept = [(n, v) for n, v in asked.fields if n not in HOP_BY_HOP and n != b"host" and not n.startswith(b"x-forwarded-")]
    framing = [(b"transfer-encoding", b"chunked")] if asked.chunked else []
    assert sent[1:] == [*kept, *framing, (b"x-forwarded-for", b"127.0.0.1"), (b"x-forwarded-proto", b"https"),
                        (b"x-forwarded-host", b"app.localhost:8443")]


# A :method that is not a token, or a :path that is not an HTTP/1.1 request-target, is refused (400), not passed on
TARGETS = {
    "root": (b"GET", b"/", True),
    "query-and-percent": (b"GET", b"/a%20b?c=d&e=%C3%A9#f", True),
    "options-star": (b"OPTIONS", b"*", True),
    "extension-method": (b"PROPFIND", b"/dav", True),
    "space": (b"GET", b"/a b", False),
    "tab": (b"GET", b"/a\tb", False),
    "control": (b"GET", b"/a\x01", False),
    "delete-char": (b"GET", b"/a\x7f", False),
    "non-ascii": (b"GET", b"/\xc3\xa9", False),
    "no-slash": (b"GET", b"a", False),
    "absolute-form": (b"GET", b"http://app.localhost/", False),
    "star-not-options": (b"GET", b"*", False),
    "method-with-a-space": (b"GET /x HTTP/1.1", b"/", False),
    "method-with-a-slash": (b"G/T", b"/", False),
    "empty-method": (b"", b"/", False),
}


@pytest.mark.parametrize(("method", "path", "fine"), TARGETS.values(), ids=TARGETS.keys())
def test_refusal(method: bytes, path: bytes, fine: bool) -> None:
    asked = request([(b":method", method), (b":path", path), (b":authority", b"app.localhost")], True)
    assert (refusal(asked) is None) == fine


@given(st.binary(max_size=40).map(lambda path: b"/" + path))
def test_every_path_that_passes_is_one_request_line_to_http1(path: bytes) -> None:
    asked = request([(b":method", b"GET"), (b":path", path), (b":authority", b"app.localhost")], True)
    if refusal(asked) is None:
        (parsed, *_) = Reader(response=False).feed(backend_head(asked, peer="127.0.0.1", host="app.localhost"))
        assert isinstance(parsed, Head) and parsed.target == path


# What h2 no longer checks (it is told not to validate header blocks): malformed() refuses what would harm the backend
FULL = [(b":method", b"POST"), (b":scheme", b"https"), (b":authority", b"app.localhost"), (b":path", b"/")]
MALFORMED = {
    "fine": (FULL, True, None),
    "fine-with-fields": ([*FULL, (b"accept", b"*/*"), (b"content-length", b"0")], True, None),
    "length-with-a-body": ([*FULL, (b"content-length", b"5")], False, None),
    "cr-in-a-value": ([*FULL, (b"x-a", b"1\r\nx-b: 2")], True, "control byte"),
    "nul-in-a-pseudo-header": ([*FULL[:2], (b":authority", b"app.localhost\x00"), FULL[3]], True, "control byte"),
    "other-control-in-a-value": ([*FULL, (b"x-a", b"1\x01")], True, "control byte"),
    "tab-and-obs-text-in-a-value": ([*FULL, (b"x-a", b"1\t\xe9")], True, None),
    "upper-case-name": ([*FULL, (b"Accept", b"*/*")], True, "lower-case token"),
    "empty-name": ([*FULL, (b"", b"x")], True, "lower-case token"),
    "unknown-pseudo-header": ([*FULL, (b":protocol", b"websocket")], True, "pseudo-header"),
    "pseudo-header-twice": ([*FULL, (b":path", b"/b")], True, "pseudo-header"),
    "pseudo-header-after-a-field": ([FULL[0], (b"accept", b"*/*"), *FULL[1:]], True, "pseudo-header"),
    "no-path": (FULL[:3], True, "no :path"),
    "no-scheme": ([FULL[0], *FULL[2:]], True, "no :scheme"),
    "length-without-a-body": ([*FULL, (b"content-length", b"12")], True, "Content-Length"),
}


@pytest.mark.parametrize(("headers", "ended", "expected"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed(headers: list[tuple[bytes, bytes]], ended: bool, expected: str | None) -> None:
    found = malformed(headers, ended)
    assert found == expected if expected is None else found is not None and expected in found


@given(st.lists(st.tuples(st.binary(max_size=6), st.binary(max_size=8)), max_size=4))
def test_a_block_that_passes_reaches_the_backend_field_for_field(fields: list[tuple[bytes, bytes]]) -> None:
    """Whatever bytes a client puts in names and values: what malformed() lets through is parsed back as sent."""
    headers = [*BASE, *fields]
    asked = request(headers, True)
    if malformed(headers, True) is not None or refusal(asked) is not None:
        return
    (parsed, *_) = Reader(response=False).feed(backend_head(asked, peer="127.0.0.1", host="app.localhost:8443"))
    assert isinstance(parsed, Head)
    kept = [(n, v.strip(b" \t")) for n, v in asked.fields
            if n not in HOP_BY_HOP and n != b"host" and not n.startswith(b"x-forwarded-")]
    assert [(n.lower(), v) for n, v in parsed.headers][1:1 + len(kept)] == kept
