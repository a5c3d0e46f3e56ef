"""Sans-IO fingerprints with captured bytes, fed at every chunk size, and fuzzed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.probe.fingerprints import NOT_MINE, Banner, Http, Memcached, Postgres, Redis, Verdict

MARIADB_GREETING = (
    bytes.fromhex("5b0000000a") + b"10.11.6-MariaDB-0+deb12u1\x00" + bytes.fromhex("0a000000") + b"x" * 8
    + b"\x00" + bytes(34 - 8)
)[:0x5B + 4]
DENIED = b"Host '127.0.0.1' is not allowed to connect to this MariaDB server"
CAPTURED = [
    (Banner, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", Verdict("ssh", {
        "banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "software": "OpenSSH_9.2p1"})),
    (Banner, b"220 mail.example.test ESMTP Postfix (Debian/GNU)\r\n", Verdict("smtp", {
        "banner": "220 mail.example.test ESMTP Postfix (Debian/GNU)"})),
    (Banner, MARIADB_GREETING, Verdict("mysql", {"version": "10.11.6-MariaDB-0+deb12u1", "flavour": "mariadb"})),
    (Banner, len(b"\xffjx" + DENIED).to_bytes(3, "little") + b"\x00\xff\x6a\x04" + DENIED,
     Verdict("mysql", {"error_code": 1130,
                       "error": "Host '127.0.0.1' is not allowed to connect to this MariaDB server"})),
    (Postgres, b"N", Verdict("postgresql", {"ssl": False})),
    (Postgres, b"S", Verdict("postgresql", {"ssl": True})),
    (Redis, b"+PONG\r\n", Verdict("redis", {"auth_required": False})),
    (Redis, b"-NOAUTH Authentication required.\r\n", Verdict("redis", {
        "auth_required": True, "error": "NOAUTH Authentication required."})),
    (Memcached, b"VERSION 1.6.18\r\n", Verdict("memcached", {"version": "1.6.18"})),
]


@pytest.mark.parametrize(("make", "data", "expected"), CAPTURED)
def test_captured_answers_at_every_chunk_size(make: type, data: bytes, expected: Verdict) -> None:
    for size in range(1, len(data) + 1):
        fingerprint = make()
        received, verdict = b"", None
        for start in range(0, len(data), size):
            received += data[start : start + size]
            verdict = fingerprint.feed(received)
            if verdict is not None:
                break
        assert verdict == expected, size


def test_http_fingerprint_reads_the_head() -> None:
    http = Http("localhost:8080")
    assert http.opening().startswith(b"GET / HTTP/1.1\r\nHost: localhost:8080\r\n")
    verdict = http.feed(b"HTTP/1.1 502 Bad Gateway\r\nServer: nginx/1.22.1\r\n\r\n")
    assert verdict == Verdict("http", {"status": 502, "reason": "Bad Gateway", "server": "nginx/1.22.1",
                                       "version": "HTTP/1.1"})


@pytest.mark.parametrize(("make", "data"), [
    (Redis, b"HTTP/1.1 400 Bad Request\r\n"), (Memcached, b"ERROR\r\n"), (Postgres, b"-ERR unknown\r\n"),
    (Banner, b"\x16\x03\x03\x00\x10"), (Http, b"+PONG\r\n"),
])
def test_other_protocols_are_not_mine(make: type, data: bytes) -> None:
    fingerprint = make("h") if make is Http else make()
    assert fingerprint.feed(data) == NOT_MINE


@pytest.mark.parametrize("make", [Banner, Postgres, Redis, Memcached, lambda: Http("h")])
@given(data=st.binary(min_size=1, max_size=200))
def test_any_bytes_give_a_verdict_or_a_wish_for_more(make, data: bytes) -> None:  # type: ignore[no-untyped-def]
    fingerprint = make()
    verdict = fingerprint.feed(data)
    assert verdict is None or isinstance(verdict, Verdict)
    assert isinstance(fingerprint.at_eof(data), Verdict)
