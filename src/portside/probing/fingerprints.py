"""Sans-IO fingerprints: what to say to a port, and what its answer reveals.

Each fingerprint is a small state machine after h11's pattern: `opening()` gives the bytes
to send first (empty: listen for a banner), `feed(data)` takes everything received so far
and returns a `Verdict` (it is this protocol, or `NOT_MINE`), or None to ask for more
bytes. `at_eof(data)` decides when the peer closed. No sockets here: runner.py does the I/O.

Probes are polite: nothing authenticates, nothing changes state; each asks the question a
client of that protocol asks first (PING, `version`, an SSLRequest, a GET of /).
"""

from __future__ import annotations

import ssl
import struct
from typing import NamedTuple

from portside.net.addresses import Target, host_port
from portside.probing.http import NotHttp, parse_response_head


class Verdict(NamedTuple):
    """`protocol` is None when the bytes are not this fingerprint's protocol."""

    protocol: str | None
    details: dict[str, object]


NOT_MINE = Verdict(None, {})


def _line(data: bytes) -> bytes | None:
    end = data.find(b"\n")
    return data[: end + 1].rstrip(b"\r\n") if end >= 0 else None


class Banner:
    """Servers that speak first: SSH, SMTP (and FTP), MySQL/MariaDB."""

    name = "banner"

    def opening(self) -> bytes:
        return b""

    def feed(self, data: bytes) -> Verdict | None:
        if data.startswith(b"SSH-"):
            line = _line(data)
            if line is None:
                return None if len(data) < 256 else NOT_MINE
            text = line.decode("latin-1")
            parts = text.split("-", 2)
            software = parts[2].split(" ", 1)[0] if len(parts) == 3 else ""
            return Verdict("ssh", {"banner": text, "software": software})
        if data[:4] in (b"220 ", b"220-"):
            line = _line(data)
            if line is None:
                return None if len(data) < 512 else NOT_MINE
            text = line.decode("latin-1")
            kind = "ftp" if "FTP" in text.upper() and "SMTP" not in text.upper() else "smtp"
            return Verdict(kind, {"banner": text})
        return _mysql(data)

    def at_eof(self, data: bytes) -> Verdict:
        return self.feed(data) or NOT_MINE


def _mysql(data: bytes) -> Verdict | None:
    """The MySQL/MariaDB initial handshake (protocol 10) or an error packet sent instead of it."""
    if len(data) < 4:
        return None
    length = int.from_bytes(data[:3], "little")
    if data[3] != 0 or not 4 <= length <= 1 << 16:
        return NOT_MINE
    if len(data) < 5:
        return None
    payload = data[4 : 4 + length]
    if payload[0] == 0x0A:
        end = payload.find(b"\0", 1)
        if end < 0:
            return None if len(payload) < length else NOT_MINE
        version = payload[1:end].decode("latin-1")
        if not version[:1].isdigit():
            return NOT_MINE
        flavour = "mariadb" if "mariadb" in version.lower() else "mysql"
        return Verdict("mysql", {"version": version, "flavour": flavour})
    if payload[0] == 0xFF and length >= 3:
        if len(payload) < length:
            return None
        code = int.from_bytes(payload[1:3], "little")
        return Verdict("mysql", {"error_code": code, "error": payload[3:].decode("latin-1", "replace")})
    return NOT_MINE


class Http:
    """A GET of / with Host; the answer's status line and Server header."""

    name = "http"

    def __init__(self, host: str, path: str = "/") -> None:
        self.host = host
        self.path = path

    @classmethod
    def to(cls, target: Target, address: str) -> Http:
        """The GET a client of `target` sends to `address`: Host is the name typed, else the address."""
        return cls(host_port(target.host or address, target.port), target.path)

    def opening(self) -> bytes:
        return (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUser-Agent: portside\r\nAccept: */*\r\n"
            "Connection: close\r\n\r\n"
        ).encode()

    def feed(self, data: bytes) -> Verdict | None:
        try:
            head = parse_response_head(data)
        except NotHttp:
            return NOT_MINE
        if head is None:
            return None
        return Verdict("http", {"status": head.status, "reason": head.reason, "server": head.header("server"),
                                "version": head.version})

    def at_eof(self, data: bytes) -> Verdict:
        return self.feed(data) or NOT_MINE


class Postgres:
    """An SSLRequest: a PostgreSQL server answers one byte, 'S' (TLS offered) or 'N'."""

    name = "postgresql"
    SSL_REQUEST = struct.pack("!ii", 8, 80877103)

    def opening(self) -> bytes:
        return self.SSL_REQUEST

    def feed(self, data: bytes) -> Verdict | None:
        if data in (b"S", b"N"):
            return Verdict("postgresql", {"ssl": data == b"S"})
        return NOT_MINE

    def at_eof(self, data: bytes) -> Verdict:
        return self.feed(data) or NOT_MINE


class Redis:
    """An inline PING: +PONG, or an error that still names Redis (NOAUTH, DENIED in protected mode)."""

    name = "redis"

    def opening(self) -> bytes:
        return b"PING\r\n"

    def feed(self, data: bytes) -> Verdict | None:
        line = _line(data)
        if line is None:
            return None if len(data) < 512 and data[:1] in (b"", b"+", b"-") else NOT_MINE
        if line == b"+PONG":
            return Verdict("redis", {"auth_required": False})
        if line.startswith(b"-NOAUTH"):
            return Verdict("redis", {"auth_required": True, "error": line[1:].decode("latin-1")})
        if line.startswith(b"-DENIED"):
            return Verdict("redis", {"protected_mode": True, "error": line[1:].decode("latin-1")})
        return NOT_MINE

    def at_eof(self, data: bytes) -> Verdict:
        return (self.feed(data + b"\n") if data else None) or NOT_MINE


class Memcached:
    """The `version` command: VERSION 1.6.18."""

    name = "memcached"

    def opening(self) -> bytes:
        return b"version\r\n"

    def feed(self, data: bytes) -> Verdict | None:
        line = _line(data)
        if line is None:
            return None if len(data) < 64 and b"VERSION ".startswith(data[:8]) else NOT_MINE
        if line.startswith(b"VERSION "):
            return Verdict("memcached", {"version": line[8:].decode("latin-1")})
        return NOT_MINE

    def at_eof(self, data: bytes) -> Verdict:
        return NOT_MINE


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


class Mongo:
    """The handshake every MongoDB driver opens with: OP_MSG {hello: 1}, answered before any authentication."""

    name = "mongodb"
    OP_MSG = 2013
    HELLO_DOC = b"\x10hello\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00"
    HELLO_BODY = struct.pack("<i", 0) + b"\x00" + struct.pack("<i", 4 + len(HELLO_DOC)) + HELLO_DOC

    def opening(self) -> bytes:
        return struct.pack("<iiii", 16 + len(self.HELLO_BODY), 1, 0, self.OP_MSG) + self.HELLO_BODY

    def feed(self, data: bytes) -> Verdict | None:
        if len(data) < 16:
            return None
        length, _, responding_to, opcode = struct.unpack_from("<iiii", data)
        if opcode != self.OP_MSG or responding_to != 1 or not 21 <= length <= 48 * 1024 * 1024:
            return NOT_MINE
        if len(data) < length:
            return None
        if data[20] != 0:
            return NOT_MINE
        try:
            fields = bson_fields(data[21:length])
        except (ValueError, IndexError, struct.error):
            return NOT_MINE
        if "maxWireVersion" not in fields and "errmsg" not in fields:
            return NOT_MINE
        details: dict[str, object] = {key: fields[key] for key in ("maxWireVersion", "setName", "msg", "errmsg")
                                      if key in fields}
        primary = fields.get("isWritablePrimary", fields.get("ismaster"))
        if primary is not None:
            details["writable_primary"] = primary
        return Verdict("mongodb", details)

    def at_eof(self, data: bytes) -> Verdict:
        return NOT_MINE


def unverified_context(alpn: list[str]) -> ssl.SSLContext:
    """A client context that describes whatever certificate it meets rather than judging it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(alpn)
    return context


class Tls:
    """A TLS handshake through memory BIOs (no socket): version, ALPN and the certificate, unverified."""

    name = "tls"

    def __init__(self, server_name: str | None) -> None:
        context = unverified_context(["h2", "http/1.1"])
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=server_name)
        self.fed = 0

    def _step(self) -> Verdict | bytes | None:
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            return self.outgoing.read() or None
        except ssl.SSLError as error:
            return Verdict("tls", {"error": error.reason or str(error)})
        return Verdict("tls", {"version": self.tls.version(), "alpn": self.tls.selected_alpn_protocol(),
                               "cipher": (self.tls.cipher() or ("",))[0],
                               **certificate_details(self.tls.getpeercert(binary_form=True))})

    def opening(self) -> bytes:
        step = self._step()
        return step if isinstance(step, bytes) else b""

    def feed(self, data: bytes) -> Verdict | bytes | None:
        if data[:1] not in (b"\x16", b"\x15") or (len(data) > 1 and data[1:2] != b"\x03"):
            return NOT_MINE
        self.incoming.write(data[self.fed :])
        self.fed = len(data)
        return self._step()

    def at_eof(self, data: bytes) -> Verdict:
        if data[:2] in (b"\x15\x03", b"\x16\x03"):
            return Verdict("tls", {"error": "closed during the handshake"})
        return NOT_MINE


def certificate_details(der: bytes | None) -> dict[str, object]:
    """Subject, issuer, names and expiry of a DER certificate (not verified: we only describe it)."""
    if not der:
        return {}
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        names = []
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "dns_names": list(names),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "self_signed": cert.subject == cert.issuer,
    }


def unknown(data: bytes) -> Verdict:
    """What to say about a port no fingerprint claimed: its first bytes, if it said anything."""
    return Verdict("unknown", {"first_bytes": data[:32].hex(" "), "text": data[:32].decode("latin-1")})
