"""MongoDB: the `hello` handshake every driver opens with, answered before any authentication.

The reply's BSON is read for a few top-level scalars (wire version, replica set, primary)
by a small reader here rather than a BSON library, to keep the probe's imports light.

`MongoAuth` is audit's one extra question, never asked by `probe`: `listDatabases` (a read;
`nameOnly` and a filter no name matches, so the answer lists nothing). A server enforcing
authentication refuses it to a client that has not logged in (code 13, Unauthorized); one
that runs it has no authentication for that client. It changes nothing and logs nothing
at the default verbosity.
"""

from __future__ import annotations

import struct

from portside.probing.fingerprints.verdict import NOT_MINE, Details, Verdict


def _cstring(data: bytes, at: int) -> tuple[str, int]:
    end = data.index(b"\0", at)
    return data[at:end].decode("utf-8", "replace"), end + 1


BSON_FIXED = {0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16}


def bson_fields(doc: bytes) -> dict[str, object]:
    """The top-level scalars of a BSON document (numbers, strings, booleans); nested values are skipped."""
    fields: dict[str, object] = {}
    at, end = 4, min(len(doc), int.from_bytes(doc[:4], "little")) - 1
    while at < end:
        kind = doc[at]
        key, at = _cstring(doc, at + 1)
        if kind == 0x01:
            fields[key] = struct.unpack_from("<d", doc, at)[0]
        elif kind == 0x02:
            length = int.from_bytes(doc[at : at + 4], "little")
            fields[key] = doc[at + 4 : at + 3 + length].decode("utf-8", "replace")
            at += 4 + length
            continue
        elif kind == 0x08:
            fields[key] = doc[at] == 1
        elif kind in (0x10, 0x12):
            fields[key] = int.from_bytes(doc[at : at + BSON_FIXED[kind]], "little", signed=True)
        if kind in (0x03, 0x04):
            at += int.from_bytes(doc[at : at + 4], "little")
        elif kind == 0x05:
            at += 5 + int.from_bytes(doc[at : at + 4], "little")
        elif kind in BSON_FIXED:
            at += BSON_FIXED[kind]
        else:
            break
    return fields


def _element(kind: int, key: str, value: bytes) -> bytes:
    return bytes([kind]) + key.encode() + b"\0" + value


def _document(*elements: bytes) -> bytes:
    body = b"".join(elements) + b"\0"
    return struct.pack("<i", 4 + len(body)) + body


def _op_msg(document: bytes) -> bytes:
    body = struct.pack("<i", 0) + b"\0" + document
    return struct.pack("<iiii", 16 + len(body), 1, 0, 2013) + body


def _reply(data: bytes) -> dict[str, object] | None | Verdict:
    """The top-level fields of an OP_MSG reply to request 1: None while incomplete, NOT_MINE when not one."""
    if len(data) < 16:
        return None
    length, _, responding_to, opcode = struct.unpack_from("<iiii", data)
    if opcode != 2013 or responding_to != 1 or not 21 <= length <= 48 * 1024 * 1024:
        return NOT_MINE
    if len(data) < length:
        return None
    if data[20] != 0:
        return NOT_MINE
    try:
        return bson_fields(data[21:length])
    except (ValueError, IndexError, struct.error):
        return NOT_MINE


class Mongo:
    """The handshake every MongoDB driver opens with: OP_MSG {hello: 1}, answered before any authentication."""

    name = "mongodb"
    OP_MSG = 2013
    HELLO_DOC = b"\x10hello\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00"
    HELLO_BODY = struct.pack("<i", 0) + b"\x00" + struct.pack("<i", 4 + len(HELLO_DOC)) + HELLO_DOC

    def opening(self) -> bytes:
        return struct.pack("<iiii", 16 + len(self.HELLO_BODY), 1, 0, self.OP_MSG) + self.HELLO_BODY

    def feed(self, data: bytes) -> Verdict | None:
        fields = _reply(data)
        if not isinstance(fields, dict):
            return fields
        if "maxWireVersion" not in fields and "errmsg" not in fields:
            return NOT_MINE
        details: Details = {key: fields[key] for key in ("maxWireVersion", "setName", "msg", "errmsg")
                                      if key in fields}
        primary = fields.get("isWritablePrimary", fields.get("ismaster"))
        if primary is not None:
            details["writable_primary"] = primary
        return Verdict("mongodb", details)

    def at_eof(self, data: bytes) -> Verdict:
        return NOT_MINE


UNAUTHORIZED = 13


class MongoAuth:
    """`listDatabases` with nothing to list: refused (Unauthorized) when the server enforces authentication."""

    name = "mongodb"
    LIST = _op_msg(_document(
        _element(0x10, "listDatabases", struct.pack("<i", 1)), _element(0x08, "nameOnly", b"\1"),
        _element(0x03, "filter", _document(_element(0x03, "name", _document(_element(0x04, "$in", _document()))))),
        _element(0x02, "$db", struct.pack("<i", 6) + b"admin\0"),
    ))

    def opening(self) -> bytes:
        return self.LIST

    def feed(self, data: bytes) -> Verdict | None:
        fields = _reply(data)
        if not isinstance(fields, dict):
            return fields
        if "ok" not in fields:
            return NOT_MINE
        if fields["ok"] == 1:
            return Verdict("mongodb", {"auth_required": False})
        if fields.get("code") == UNAUTHORIZED:
            return Verdict("mongodb", {"auth_required": True, "auth_error": str(fields.get("errmsg", ""))})
        return Verdict("mongodb", {"auth_error": str(fields.get("errmsg", ""))})  # it could not say

    def at_eof(self, data: bytes) -> Verdict:
        return NOT_MINE
