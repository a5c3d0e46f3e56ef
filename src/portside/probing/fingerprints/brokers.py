"""Message brokers: AMQP, MQTT and Kafka, each asked what its own clients send first.

AMQP: the 0-9-1 protocol header, answered by Connection.Start (the broker's product and
version in its server properties) or by the header of the version it speaks instead; RabbitMQ
logs a warning, "client unexpectedly closed TCP connection", for any client that leaves
after Connection.Start without logging in, and that is the least any AMQP greeting costs.
MQTT: a 3.1.1 CONNECT with an empty client id and a clean session (the broker names the
session and forgets it; a fixed id could take over a real client's session), then
DISCONNECT. Kafka: ApiVersions v0, which every broker answers, if only with
UNSUPPORTED_VERSION and the range it supports.
"""

from __future__ import annotations

import struct

from portside.probing.fingerprints.verdict import NOT_MINE, Details, Step, Verdict, text

AMQP_HEADER = b"AMQP\x00\x00\x09\x01"
FRAME_END = 0xCE
MAX_FRAME = 1 << 20
TABLE_FIXED = {ord("t"): 1, ord("b"): 1, ord("B"): 1, ord("s"): 2, ord("u"): 2, ord("U"): 2, ord("I"): 4,
               ord("i"): 4, ord("l"): 8, ord("L"): 8, ord("f"): 4, ord("d"): 8, ord("T"): 8, ord("D"): 5, ord("V"): 0}
AMQP_PROPERTIES = ("product", "version", "platform", "cluster_name")


def _long_string(data: bytes, at: int) -> tuple[bytes, int]:
    size = int.from_bytes(data[at : at + 4], "big")
    if at + 4 + size > len(data):
        raise ValueError("long string runs past its frame")
    return data[at + 4 : at + 4 + size], at + 4 + size


def field_table(data: bytes, at: int) -> tuple[dict[str, object], int]:
    """An AMQP field table's top-level strings and booleans; nested tables and arrays are skipped."""
    size = int.from_bytes(data[at : at + 4], "big")
    at, end = at + 4, at + 4 + size
    if end > len(data):
        raise ValueError("field table runs past its frame")
    fields: dict[str, object] = {}
    while at < end:
        name_size = data[at]
        name = text(data[at + 1 : at + 1 + name_size])
        kind, at = data[at + 1 + name_size], at + 2 + name_size
        if kind in (ord("S"), ord("x"), ord("F"), ord("A")):
            value, at = _long_string(data, at)
            if kind == ord("S"):
                fields[name] = value.decode("utf-8", "replace")
        elif kind in TABLE_FIXED:
            if kind == ord("t"):
                fields[name] = data[at] != 0
            at += TABLE_FIXED[kind]
        else:
            break  # a type this reader does not know: what came before is still good
    return fields, end


class Amqp:
    """The AMQP 0-9-1 protocol header; Connection.Start or the broker's own header in reply."""

    name = "amqp"

    def opening(self) -> bytes:
        return AMQP_HEADER

    def feed(self, data: bytes) -> Step:
        if b"AMQP".startswith(data[:4]):
            return amqp_header(data)
        if data[0] != 1:
            return NOT_MINE
        if len(data) < 7:
            return None
        _, channel, size = struct.unpack_from("!BHI", data)
        if channel != 0 or not 4 <= size <= MAX_FRAME:
            return NOT_MINE
        if len(data) < 7 + size + 1:
            return None
        payload = data[7 : 7 + size]
        if data[7 + size] != FRAME_END or payload[:4] != b"\x00\x0a\x00\x0a":
            return NOT_MINE
        details: Details = {"protocol_version": f"{payload[4]}-{payload[5]}"}
        try:
            properties, at = field_table(payload, 6)
            mechanisms, _ = _long_string(payload, at)
        except (ValueError, IndexError):
            return Verdict("amqp", details)
        details.update({key: properties[key] for key in AMQP_PROPERTIES if key in properties})
        details["mechanisms"] = text(mechanisms).split()
        return Verdict("amqp", details)

    def at_eof(self, data: bytes) -> Verdict:
        step = self.feed(data) if data else NOT_MINE
        return step if isinstance(step, Verdict) else NOT_MINE


def amqp_header(data: bytes) -> Step:
    """A protocol header sent back: the broker's way of saying which AMQP it speaks instead."""
    if len(data) < 8:
        return None
    if data[:4] != b"AMQP" or data[4] not in (0, 1, 2, 3):
        return NOT_MINE
    major, minor, revision = data[5:8]
    version = f"{major}-{minor}-{revision}" if data[4] == 0 and major == 0 else f"{major}.{minor}.{revision}"
    return Verdict("amqp", {"protocol_version": version, "note": "answered with the protocol header it speaks"})


MQTT_CONNECT = b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"  # 3.1.1, clean session, keep-alive 60 s, client id ""
MQTT_DISCONNECT = b"\xe0\x00"
CONNACK_CODES = {0: "accepted", 1: "unacceptable protocol version", 2: "identifier rejected",
                 3: "server unavailable", 4: "bad user name or password", 5: "not authorized"}


class Mqtt:
    """CONNECT, answered by CONNACK; DISCONNECT after an accepted one."""

    name = "mqtt"

    def opening(self) -> bytes:
        return MQTT_CONNECT

    def feed(self, data: bytes) -> Step:
        if data[0] != 0x20:
            return NOT_MINE
        if len(data) < 2:
            return None
        if data[1] < 2 or data[1] > 127:
            return NOT_MINE
        if len(data) < 4:
            return None
        code = data[3]
        if data[2] > 1 or code not in CONNACK_CODES:
            return NOT_MINE
        details: Details = {"connack": CONNACK_CODES[code]}
        if code in (4, 5):
            details["auth_required"] = True
        return Verdict("mqtt", details, farewell=MQTT_DISCONNECT if code == 0 else b"")

    def at_eof(self, data: bytes) -> Verdict:
        step = self.feed(data) if data else NOT_MINE
        return step._replace(farewell=b"") if isinstance(step, Verdict) else NOT_MINE


KAFKA_CORRELATION = 0x706F7274  # "port"
KAFKA_CLIENT = b"portside"
API_VERSIONS = 18
KAFKA_ERRORS = {0: None, 35: "UNSUPPORTED_VERSION"}


class Kafka:
    """ApiVersions v0: the correlation id back, an error code, and the API key ranges the broker supports."""

    name = "kafka"

    def opening(self) -> bytes:
        body = struct.pack("!hhih", API_VERSIONS, 0, KAFKA_CORRELATION, len(KAFKA_CLIENT)) + KAFKA_CLIENT
        return struct.pack("!i", len(body)) + body

    def feed(self, data: bytes) -> Step:
        if len(data) < 8:
            return None
        size, correlation = struct.unpack_from("!ii", data)
        if correlation != KAFKA_CORRELATION or not 10 <= size <= MAX_FRAME:
            return NOT_MINE
        if len(data) < 4 + size:
            return None
        error, count = struct.unpack_from("!hi", data, 8)
        if error not in KAFKA_ERRORS or not 0 <= count <= (size - 10) // 6:
            return NOT_MINE
        ranges = {key: (low, high) for key, low, high in
                  (struct.unpack_from("!hhh", data, 14 + 6 * index) for index in range(count))}
        details: Details = {"api_keys": count}
        if API_VERSIONS in ranges:
            details["api_versions_max"] = ranges[API_VERSIONS][1]
        if KAFKA_ERRORS[error]:
            details["error"] = KAFKA_ERRORS[error]
        return Verdict("kafka", details)

    def at_eof(self, data: bytes) -> Verdict:
        step = self.feed(data) if data else NOT_MINE
        return step if isinstance(step, Verdict) else NOT_MINE
