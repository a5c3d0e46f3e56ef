"""Sans-IO fingerprints with bytes real servers sent (captures.py), fed at every chunk size, and fuzzed."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

import bson
import captures
import pytest
from hpack import Decoder
from hypothesis import given
from hypothesis import strategies as st

from portside.probing.fingerprints import (
    NOT_MINE,
    Amqp,
    DevTools,
    Dns,
    Greeting,
    H2c,
    Http,
    Kafka,
    Ldap,
    Memcached,
    Mongo,
    Mqtt,
    Postgres,
    Redis,
    Verdict,
    WebpackAssets,
    WebPage,
    recognise,
)
from portside.probing.fingerprints.cleartext_h2 import GOAWAY_NO_ERROR, PREFACE
from portside.probing.fingerprints.ldap import UNBIND, children, element

if TYPE_CHECKING:
    from portside.probing.fingerprints.verdict import Fingerprint

Make = Callable[[], "Fingerprint"]
QUIT = b"QUIT\r\n"


def fed(make: Make, data: bytes, size: int) -> Verdict:
    """The verdict `make()` gives when `data` arrives `size` bytes at a time (the end of stream judged last)."""
    fingerprint, received = make(), b""
    for start in range(0, len(data), size):
        received += data[start : start + size]
        step = fingerprint.feed(received)
        if isinstance(step, Verdict):
            return step
    return fingerprint.at_eof(received)


def chunk_sizes(data: bytes) -> list[int]:
    """Every size for small captures; for large pages every size to 64 and a spread above (the parse is quadratic)."""
    if len(data) <= 512:
        return list(range(1, len(data) + 1))
    return [*range(1, 65), 97, 256, 1000, 4096, len(data)]


MARIADB_DETAILS = {"version": "10.11.19-MariaDB-0+deb12u1", "flavour": "mariadb"}
DOVECOT_CAPABILITIES = ["IMAP4rev1", "SASL-IR", "LOGIN-REFERRALS", "ID", "ENABLE", "IDLE", "LITERAL+", "AUTH=PLAIN"]
PAGE = {"status": 200, "reason": "OK", "server": None, "version": "HTTP/1.1"}
CAPTURED: list[tuple[str, Make, Verdict]] = [
    ("SSH_OPENSSH", Greeting, Verdict("ssh", {
        "banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", "version": "2.0", "software": "OpenSSH_9.2p1",
        "comment": "Debian-2+deb12u10"}, farewell=b"SSH-2.0-portside\r\n")),
    ("FTP_VSFTPD", Greeting, Verdict("ftp", {"banner": "220 (vsFTPd 3.0.3)"}, farewell=QUIT)),
    ("SMTP_AIOSMTPD", Greeting, Verdict("smtp", {"banner": "220 localhost Python SMTP 1.4.6"}, farewell=QUIT)),
    ("IMAP_DOVECOT", Greeting, Verdict("imap", {
        "banner": f"* OK [CAPABILITY {' '.join(DOVECOT_CAPABILITIES)}] Dovecot (Debian) ready.",
        "capabilities": DOVECOT_CAPABILITIES}, farewell=b"a LOGOUT\r\n")),
    ("POP3_DOVECOT", Greeting, Verdict("pop3", {"banner": "+OK Dovecot (Debian) ready."}, farewell=QUIT)),
    ("MYSQL_MARIADB", Greeting, Verdict("mysql", MARIADB_DETAILS)),
    ("RSYNC_DAEMON", Greeting, Verdict("rsync", {"version": "32.0", "digests": ["sha512", "sha256", "sha1", "md5",
                                                                               "md4"]})),
    ("VNC_TIGERVNC", Greeting, Verdict("vnc", {"version": "3.8"})),
    ("VNC_BLACKLISTED", Greeting, Verdict("vnc", {"version": "3.3"})),
    ("NATS_INFO", Greeting, Verdict("nats", {
        "version": "2.9.10", "server_name": "NCNLDQ7UFN2QKTLCDKDURGZZKVY5QSCUQ3STBCJ4KRRWY43MBQY4LZO6", "proto": 1,
        "go": "go1.19.8", "max_payload": 1048576})),
    ("REDIS_PONG", Redis, Verdict("redis", {"auth_required": False})),
    ("REDIS_NOAUTH", Redis, Verdict("redis", {"auth_required": True, "error": "NOAUTH Authentication required."})),
    ("MEMCACHED_VERSION", Memcached, Verdict("memcached", {"version": "1.6.18"})),
    ("AMQP_RABBITMQ", Amqp, Verdict("amqp", {
        "protocol_version": "0-9", "product": "RabbitMQ", "version": "3.10.8", "platform": "Erlang/OTP 25.2.3",
        "cluster_name": "p14@vm", "mechanisms": ["PLAIN", "AMQPLAIN"]})),
    ("AMQP_ON_GET", Amqp, Verdict("amqp", {"protocol_version": "0-9-1",
                                           "note": "answered with the protocol header it speaks"})),
    ("MQTT_MOSQUITTO", Mqtt, Verdict("mqtt", {"connack": "accepted"}, farewell=b"\xe0\x00")),
    ("LDAP_SLAPD", Ldap, Verdict("ldap", {"naming_contexts": ["dc=example,dc=test"], "versions": ["3"],
                                          "result_code": 0}, farewell=UNBIND)),
    ("DNS_UNBOUND", Dns, Verdict("dns", {"rcode": "NXDOMAIN", "authoritative": True, "recursion_available": True,
                                         "answers": 0})),
    ("KAFKA_API_VERSIONS", Kafka, Verdict("kafka", {"api_keys": 11, "api_versions_max": 3})),
    ("KAFKA_UNSUPPORTED", Kafka, Verdict("kafka", {"api_keys": 1, "api_versions_max": 3,
                                                   "error": "UNSUPPORTED_VERSION"})),
    ("H2C_NGINX", lambda: H2c("h"), Verdict("http2", {"status": 200, "server": "nginx/1.22.1"},
                                            farewell=GOAWAY_NO_ERROR)),
    ("GRPC_HEALTH", lambda: H2c("h"), Verdict("grpc", {"status": 200, "server": None, "grpc_status": 0,
                                                       "health": "SERVING"}, farewell=GOAWAY_NO_ERROR)),
    ("GRPC_NO_HEALTH", lambda: H2c("h"), Verdict("grpc", {"status": 200, "server": None, "grpc_status": 12,
                                                          "grpc_message": "Method not found!"},
                                                 farewell=GOAWAY_NO_ERROR)),
    ("NODE_INSPECTOR_ROOT", lambda: WebPage("h"), Verdict("http", {**PAGE, "status": 400, "reason": "Bad Request",
                                                                   "version": "HTTP/1.0"}, follow="devtools")),
    ("NODE_INSPECTOR_VERSION", lambda: DevTools("h"), Verdict("http", {
        **PAGE, "version": "HTTP/1.0", "debugger": "node", "browser": "node.js/v20.20.2", "protocol_version": "1.1"})),
    ("CHROME_DEVTOOLS_ROOT", lambda: WebPage("h"), Verdict("http", PAGE, follow="devtools")),
    ("CHROME_DEVTOOLS_VERSION", lambda: DevTools("h"), Verdict("http", {
        **PAGE, "debugger": "chrome", "browser": "Chrome/156.0.8078.114", "protocol_version": "1.3"})),
    ("VITE_PAGE", lambda: WebPage("h"), Verdict("http", {**PAGE, "dev_server": "vite"})),
    ("DJANGO_PAGE", lambda: WebPage("h"), Verdict("http", {**PAGE, "server": "WSGIServer/0.2 CPython/3.11.7",
                                                           "dev_server": "django"})),
    ("JUPYTER_PAGE", lambda: WebPage("h"), Verdict("http", {**PAGE, "server": "TornadoServer/6.6.1",
                                                            "dev_server": "jupyter"})),
    ("NEXT_PAGE", lambda: WebPage("h"), Verdict("http", {**PAGE, "status": 500, "reason": "Internal Server Error",
                                                         "dev_server": "next"})),
    ("RAILS_PAGE", lambda: WebPage("h"), Verdict("http", {**PAGE, "dev_server": "rails"})),
    ("WEBPACK_PAGE", lambda: WebPage("h"), Verdict("http", PAGE, follow="webpack")),
    ("WEBPACK_ASSETS", lambda: WebpackAssets("h"), Verdict("http", {"dev_server": "webpack"})),
    ("NGINX_TLS_ON_GET", lambda: WebPage("h"), Verdict("http", {**PAGE, "status": 400, "reason": "Bad Request",
                                                                "server": "nginx/1.22.1"}, follow="tls")),
]


@pytest.mark.parametrize(("name", "make", "expected"), CAPTURED, ids=[row[0] for row in CAPTURED])
def test_captured_answers_at_every_chunk_size(name: str, make: Make, expected: Verdict) -> None:
    data = getattr(captures, name)
    for size in chunk_sizes(data):
        assert fed(make, data, size) == expected, size


@pytest.mark.parametrize(("name", "expected"), [
    ("REDIS_ON_GET", Verdict("redis", {}, follow="redis")),
    ("H2C_NGINX_ON_GET", Verdict("http2", {}, follow="http2")),
    ("GRPC_SETTINGS", Verdict("http2", {}, follow="http2")),
    ("AMQP_ON_GET", Verdict("amqp", {"protocol_version": "0-9-1",
                                     "note": "answered with the protocol header it speaks"})),
    ("NGINX_TLS_ON_GET", Verdict("http", {"status": 400}, follow="http")),
    ("MYSQL_MARIADB", Verdict("mysql", MARIADB_DETAILS)),
])
def test_an_answer_to_another_question_still_names_the_server(name: str, expected: Verdict) -> None:
    assert recognise(getattr(captures, name)) == expected


@pytest.mark.parametrize(("data", "expected"), [
    (b"ERROR\r\n", Verdict("memcached", {}, follow="memcached")),  # memcached's answer to an unknown command
    (b"\x15\x03\x01\x00\x02\x02\x46", Verdict("tls", {}, follow="tls")),  # a TLS alert: protocol_version
    (b"HELLO weird-proto 1.0\r\n", None),
    (b"", None),
])
def test_recognise_built_answers(data: bytes, expected: Verdict | None) -> None:
    assert recognise(data) == expected


def test_a_multi_line_smtp_greeting_waits_for_its_last_line_before_quit() -> None:
    first = b"220-mail.example.test ESMTP Postfix\r\n"
    assert Greeting().feed(first) is None  # a pregreet test waits here to see who talks early
    assert Greeting().feed(first + b"220 mail.example.test ESMTP\r\n") == Verdict(
        "smtp", {"banner": "220-mail.example.test ESMTP Postfix"}, farewell=QUIT)
    assert Greeting().at_eof(first) == Verdict("smtp", {"banner": "220-mail.example.test ESMTP Postfix"})


@pytest.mark.parametrize(("greeting", "expect", "protocol"), [
    (b"220 Operation successful\r\n", "ftp", "ftp"),  # BusyBox ftpd names nothing: the port or program decides
    (b"220 Operation successful\r\n", None, "smtp"),
    (b"220 mail.example.test FTP server ready\r\n", None, "ftp"),
    (b"220 mail.example.test ESMTP Exim 4.96\r\n", "ftp", "smtp"),
    (b"500 OOPS: vsftpd: both local and anonymous access disabled!\r\n", None, "ftp"),
])
def test_ftp_or_smtp_by_the_words_then_the_hint(greeting: bytes, expect: str | None, protocol: str) -> None:
    verdict = Greeting(expect).feed(greeting)
    assert isinstance(verdict, Verdict) and verdict.protocol == protocol


def test_an_imap_bye_gets_no_logout_and_postgres_no_is_plain() -> None:
    assert Greeting().feed(b"* BYE Too many connections\r\n") == Verdict(
        "imap", {"banner": "* BYE Too many connections"})
    assert fed(Postgres, b"N", 1) == Verdict("postgresql", {"ssl": False})


def test_postgres_answers_s_with_a_tls_hello() -> None:
    postgres = Postgres("localhost")
    assert postgres.opening() == struct.pack("!ii", 8, 80877103)
    hello = postgres.feed(b"S")
    assert isinstance(hello, bytes) and hello[:3] == b"\x16\x03\x01"  # a ClientHello record
    assert postgres.feed(b"S\x15\x03\x03\x00\x02\x02\x28") == Verdict(  # the server's handshake_failure alert
        "postgresql", {"ssl": True, "tls": {"error": "SSLV3_ALERT_HANDSHAKE_FAILURE"}})


def test_http_fingerprint_reads_the_head() -> None:
    http = Http("localhost:8080")
    assert http.opening().startswith(b"GET / HTTP/1.1\r\nHost: localhost:8080\r\n")
    verdict = http.feed(b"HTTP/1.1 502 Bad Gateway\r\nServer: nginx/1.22.1\r\n\r\n")
    assert verdict == Verdict("http", {"status": 502, "reason": "Bad Gateway", "server": "nginx/1.22.1",
                                       "version": "HTTP/1.1"})


def test_the_probes_get_spells_host_without_the_word_redis_guards_against() -> None:
    opening = WebPage("localhost:8080").opening()
    assert b"\r\nHost:localhost:8080\r\n" in opening and b"Host: " not in opening
    assert opening.endswith(b"Connection: close\r\n\r\n")


def test_ldap_search_is_an_anonymous_root_dse_read() -> None:
    search = Ldap().opening()
    message = element(search, 0)
    assert message is not None and message[0] == 0x30
    (id_tag, id_start, id_end), (op_tag, op_start, op_end) = children(search, message[1], message[2])
    assert (id_tag, search[id_start:id_end], op_tag) == (0x02, b"\x01", 0x63)  # message 1, a SearchRequest
    base, scope, _, _, _, _, where, attributes = children(search, op_start, op_end)
    assert search[base[1] : base[2]] == b"" and search[scope[1] : scope[2]] == b"\x00"  # "", baseObject
    assert where[0] == 0x87 and search[where[1] : where[2]] == b"objectClass"
    asked = [search[a[1] : a[2]] for a in children(search, attributes[1], attributes[2])]
    assert asked == [b"namingContexts", b"supportedLDAPVersion", b"vendorName", b"vendorVersion"]


def test_dns_query_asks_the_root_ns_without_recursion() -> None:
    query = Dns().opening()
    size, ident, flags, questions = struct.unpack_from("!HHHH", query)
    assert (size, flags, questions) == (len(query) - 2, 0x0000, 1)  # RD is bit 0x0100: not set
    assert query[14:] == b"\x00\x00\x02\x00\x01" and ident == 0x7073  # ".", NS, IN


def test_mqtt_connect_is_3_1_1_clean_with_an_empty_client_id() -> None:
    connect = Mqtt().opening()
    assert connect[0] == 0x10 and connect[1] == len(connect) - 2
    assert connect[2:10] == b"\x00\x04MQTT\x04\x02" and connect[-2:] == b"\x00\x00"


def test_kafka_asks_api_versions_v0() -> None:
    request = Kafka().opening()
    size, key, version, correlation, client = struct.unpack_from("!ihhih", request)
    assert (size, key, version, correlation) == (len(request) - 4, 18, 0, 0x706F7274)
    assert request[14:] == b"portside" == request[14 : 14 + client]


def test_h2c_opening_is_a_preface_settings_and_one_grpc_health_check() -> None:
    opening = H2c("localhost:50051").opening()
    assert opening.startswith(PREFACE)
    frames, at = [], len(PREFACE)
    while at < len(opening):
        size = int.from_bytes(opening[at : at + 3], "big")
        frames.append((opening[at + 3], opening[at + 4], int.from_bytes(opening[at + 5 : at + 9], "big"),
                       opening[at + 9 : at + 9 + size]))
        at += 9 + size
    assert [(kind, flags, stream) for kind, flags, stream, _ in frames] == [(4, 0, 0), (1, 4, 1), (0, 1, 1)]
    assert dict(Decoder().decode(frames[1][3])) == {
        ":method": "POST", ":scheme": "http", ":path": "/grpc.health.v1.Health/Check", ":authority": "localhost:50051",
        "content-type": "application/grpc", "te": "trailers", "user-agent": "portside"}
    assert frames[2][3] == bytes(5)  # an empty HealthCheckRequest: the server as a whole


def test_h2c_acknowledges_the_servers_settings() -> None:
    h2c = H2c("h")
    assert h2c.feed(captures.GRPC_SETTINGS) == b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"


@pytest.mark.parametrize(("make", "data"), [
    (Redis, b"HTTP/1.1 400 Bad Request\r\n"), (Memcached, b"ERROR\r\n"), (Postgres, b"-ERR unknown\r\n"),
    (Greeting, b"\x16\x03\x03\x00\x10"), (lambda: Http("h"), b"+PONG\r\n"), (Amqp, b"HTTP/1.1 400 Bad Request\r\n"),
    (Mqtt, b"HTTP/1.1 400"), (Ldap, b"-ERR wrong number of arguments\r\n"), (Dns, captures.REDIS_PONG),
    (Kafka, captures.REDIS_ON_GET), (lambda: H2c("h"), captures.NODE_INSPECTOR_ROOT),
    (lambda: DevTools("h"), captures.VITE_PAGE), (lambda: WebpackAssets("h"), captures.WEBPACK_PAGE),
])
def test_other_protocols_are_not_mine(make: Make, data: bytes) -> None:
    assert fed(make, data, len(data)) == NOT_MINE


FUZZED: list[Make] = [Greeting, Postgres, Redis, Memcached, Mongo, Amqp, Mqtt, Kafka, Ldap, Dns,
                      lambda: H2c("h"), lambda: Http("h"), lambda: WebPage("h"), lambda: DevTools("h")]


@pytest.mark.parametrize("make", FUZZED)
@given(data=st.binary(min_size=1, max_size=300))
def test_any_bytes_give_a_verdict_or_a_wish(make: Make, data: bytes) -> None:
    fingerprint = make()
    step = fingerprint.feed(data)
    assert step is None or isinstance(step, (Verdict, bytes))
    assert isinstance(fingerprint.at_eof(data), Verdict)


@pytest.mark.parametrize("name", ["LDAP_SLAPD", "AMQP_RABBITMQ", "NATS_INFO", "GRPC_HEALTH", "MYSQL_MARIADB"])
@given(cut=st.integers(min_value=1), flip=st.integers(min_value=0, max_value=255))
def test_damaged_captures_never_raise(name: str, cut: int, flip: int) -> None:
    data = bytearray(getattr(captures, name))
    data[cut % len(data)] = flip
    for make in FUZZED:
        fed(make, bytes(data), 7)
    recognise(bytes(data))


@given(data=st.binary(max_size=300))
def test_recognise_never_raises(data: bytes) -> None:
    assert recognise(data) is None or isinstance(recognise(data), Verdict)


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
    for size in chunk_sizes(data):
        assert fed(Mongo, data, size) == Verdict("mongodb", expected), size


def test_mongodb_answering_http_on_its_driver_port_is_named() -> None:
    body = (b"It looks like you are trying to access MongoDB over HTTP on the native driver port.\r\n")
    answer = (b"HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: "
              + str(len(body)).encode() + b"\r\n\r\n" + body)  # built: what mongod writes to a GET
    assert fed(lambda: WebPage("h"), answer, 5) == Verdict(
        "mongodb", {"note": "answered HTTP on its driver port"}, follow="mongodb")


@pytest.mark.parametrize("data", [
    op_msg({"maxWireVersion": 21}, responding_to=5), op_msg({"ok": 1.0}),
    b"HTTP/1.1 400 Bad Request\r\n\r\n", struct.pack("<iiii", 100, 1, 1, 1) + bytes(84),
])
def test_mongo_not_mine(data: bytes) -> None:
    assert Mongo().feed(data) == NOT_MINE
