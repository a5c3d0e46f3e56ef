"""Sans-IO fingerprints with captured bytes, fed at every chunk size, and fuzzed."""

from __future__ import annotations

import struct

import bson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.probing.fingerprints import NOT_MINE, Banner, Http, Memcached, Mongo, Postgres, Redis, Verdict

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


@pytest.mark.parametrize("make", [Banner, Postgres, Redis, Memcached, Mongo, lambda: Http("h")])
@given(data=st.binary(min_size=1, max_size=200))
def test_any_bytes_give_a_verdict_or_a_wish_for_more(make, data: bytes) -> None:  # type: ignore[no-untyped-def]
    fingerprint = make()
    verdict = fingerprint.feed(data)
    assert verdict is None or isinstance(verdict, Verdict)
    assert isinstance(fingerprint.at_eof(data), Verdict)


def op_msg(document: dict, responding_to: int = 1) -> bytes:  # type: ignore[type-arg]
    """An OP_MSG reply as a MongoDB server frames it, the document encoded by pymongo's bson."""
    body = struct.pack("<i", 0) + b"\x00" + bson.encode(document)
    return struct.pack("<iiii", 16 + len(body), 7, responding_to, 2013) + body


HELLO_PRIMARY = {  # the fields MongoDB 7.0 answers hello with (docs: "hello" command output)
    "topologyVersion": {"processId": bson.ObjectId(), "counter": bson.Int64(0)},
    "hosts": ["127.0.0.1:27017"], "setName": "rs0", "setVersion": 1, "isWritablePrimary": True,
    "secondary": False, "primary": "127.0.0.1:27017", "me": "127.0.0.1:27017",
    "electionId": bson.ObjectId(), "lastWrite": {"opTime": {"ts": bson.Timestamp(1, 1), "t": bson.Int64(1)}},
    "maxBsonObjectSize": 16777216, "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
    "localTime": bson.datetime.datetime(2026, 11, 24), "logicalSessionTimeoutMinutes": 30, "connectionId": 9,
    "minWireVersion": 0, "maxWireVersion": 21, "readOnly": False, "ok": 1.0,
    "$clusterTime": {"clusterTime": bson.Timestamp(1, 1), "signature": {"hash": bson.Binary(b"\0" * 20),
                                                                        "keyId": bson.Int64(0)}},
    "operationTime": bson.Timestamp(1, 1),
}


def test_mongo_hello_is_valid_bson_and_asks_nothing_more() -> None:
    opening = Mongo().opening()
    length, request_id, responding_to, opcode = struct.unpack_from("<iiii", opening)
    assert (length, request_id, responding_to, opcode) == (len(opening), 1, 0, 2013) and opening[16:21] == bytes(5)
    assert bson.decode(opening[21:]) == {"hello": 1, "$db": "admin"}


@pytest.mark.parametrize(("document", "expected"), [
    (HELLO_PRIMARY, {"maxWireVersion": 21, "setName": "rs0", "writable_primary": True}),
    ({"ismaster": True, "msg": "isdbgrid", "maxWireVersion": 17, "ok": 1.0},
     {"maxWireVersion": 17, "msg": "isdbgrid", "writable_primary": True}),
    ({"ok": 0.0, "errmsg": "command hello requires authentication", "code": 13, "codeName": "Unauthorized"},
     {"errmsg": "command hello requires authentication"}),
])
def test_mongo_replies_at_every_chunk_size(document: dict, expected: dict) -> None:  # type: ignore[type-arg]
    data = op_msg(document)
    for size in (1, 2, 3, 7, 16, 17, 64, len(data)):
        fingerprint, received, verdict = Mongo(), b"", None
        for start in range(0, len(data), size):
            received += data[start : start + size]
            verdict = fingerprint.feed(received)
            if verdict is not None:
                break
        assert verdict == Verdict("mongodb", expected), size


@pytest.mark.parametrize("data", [
    op_msg({"maxWireVersion": 21}, responding_to=5), op_msg({"ok": 1.0}),
    b"HTTP/1.1 400 Bad Request\r\n\r\n", struct.pack("<iiii", 100, 1, 1, 1) + bytes(84),
])
def test_mongo_not_mine(data: bytes) -> None:
    assert Mongo().feed(data) == NOT_MINE
