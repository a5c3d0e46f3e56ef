"""Servers that speak first, named from their greeting with nothing sent.

SSH, FTP and SMTP, IMAP, POP3, MySQL/MariaDB, rsync, VNC (RFB) and NATS each open with a
greeting that names them. Once it is complete the verdict carries the protocol's own
goodbye, which the runner sends before closing: QUIT (FTP, SMTP, POP3), LOGOUT (IMAP), and
for SSH our identification line, because OpenSSH logs a client that leaves before sending
one as an error ("kex_exchange_identification: Connection closed by remote host") while a
client that leaves after it is an ordinary "Connection closed ... [preauth]". MySQL, rsync,
VNC and NATS are left without a word: that is what their clients do before logging in, and
nothing more is sent (a VNC session is never started). A multi-line SMTP greeting is read to
its last line before QUIT, so a pregreet test (Postfix's postscreen) sees no early talker.
"""

from __future__ import annotations

import json
import re

from portside.probing.fingerprints.verdict import NOT_MINE, Details, Step, Verdict, first_line, text

MAX_GREETING = 4096
SSH_IDENTIFICATION = b"SSH-2.0-portside\r\n"
REPLY_CODE = re.compile(rb"^[1-5]\d\d[ -]")
# The words a greeting names its protocol by, strongest first: "SMTP" beats "FTP" beats a mail server's name.
GREETING_WORDS = (("SMTP", "smtp"), ("FTP", "ftp"), ("MAIL", "smtp"), ("POSTFIX", "smtp"), ("EXIM", "smtp"))


class Greeting:
    """Listen for a greeting. `expect` (a port or program hint) settles a 220 that names neither FTP nor SMTP."""

    name = "greeting"

    def __init__(self, expect: str | None = None) -> None:
        self.expect = expect

    def opening(self) -> bytes:
        return b""

    def feed(self, data: bytes) -> Step:
        for recognise in (_ssh, self._reply_code, _imap, _pop3, _rsync, _vnc, _nats, _redis_full):
            step = recognise(data)
            if step is not NOT_MINE:
                return step
        return mysql_greeting(data)

    def at_eof(self, data: bytes) -> Verdict:
        """No more bytes will come: name what arrived, without a goodbye (the greeting may be cut short)."""
        if REPLY_CODE.match(data[:4]) and (line := first_line(data)) is not None:
            return Verdict(self._ftp_or_smtp(data), {"banner": text(line)})
        step = self.feed(data if data.endswith(b"\n") or not data else data + b"\r\n")
        return step._replace(farewell=b"") if isinstance(step, Verdict) else NOT_MINE

    def _reply_code(self, data: bytes) -> Step:
        """FTP and SMTP greet with a reply code (220, or 421/554 when busy or refusing); the words tell which."""
        if len(data) < 4:
            return None if data.isdigit() else NOT_MINE
        if not REPLY_CODE.match(data[:4]):
            return NOT_MINE
        line = first_line(data)
        last = _last_line(data, data[:3])
        if line is None or last is None:
            return None if len(data) < MAX_GREETING else NOT_MINE
        return Verdict(self._ftp_or_smtp(data[:last]), {"banner": text(line)}, farewell=b"QUIT\r\n")

    def _ftp_or_smtp(self, greeting: bytes) -> str:
        upper = text(greeting).upper()
        named = next((protocol for word, protocol in GREETING_WORDS if word in upper), None)
        return named or (self.expect if self.expect in ("ftp", "smtp") else "smtp")


def _last_line(data: bytes, code: bytes) -> int | None:
    """Where a multi-line reply (`220-...`, then `220 ...`) ends, or None while its last line is still coming."""
    at = 0
    while (end := data.find(b"\n", at)) >= 0:
        line = data[at:end]
        if line[:3] == code and line[3:4] != b"-":
            return end + 1
        at = end + 1
    return None


def _greeting_line(data: bytes, prefix: bytes, limit: int = MAX_GREETING) -> bytes | Step:
    """The greeting's first line when `data` opens with `prefix`; else None (more to come) or NOT_MINE."""
    if not prefix.startswith(data[: len(prefix)]):
        return NOT_MINE
    line = first_line(data)
    if line is None:
        return None if len(data) < limit else NOT_MINE
    return line if line.startswith(prefix) else NOT_MINE


def _ssh(data: bytes) -> Step:
    line = _greeting_line(data, b"SSH-", 256)
    if not isinstance(line, bytes):
        return line
    parts = text(line).split("-", 2)
    if len(parts) < 3:
        return NOT_MINE
    software, _, comment = parts[2].partition(" ")
    details: Details = {"banner": text(line), "version": parts[1], "software": software}
    if comment:
        details["comment"] = comment
    return Verdict("ssh", details, farewell=SSH_IDENTIFICATION)


def _imap(data: bytes) -> Step:
    for status in (b"* OK", b"* PREAUTH", b"* BYE"):
        line = _greeting_line(data, status)
        if line is None and len(data) < len(status):
            return None  # "* " could still be any of them
        if isinstance(line, bytes):
            details: Details = {"banner": text(line)}
            capabilities = re.search(rb"\[CAPABILITY ([^\]]*)\]", line)
            if capabilities:
                details["capabilities"] = text(capabilities.group(1)).split()
            return Verdict("imap", details, farewell=b"" if status == b"* BYE" else b"a LOGOUT\r\n")
        if line is None:
            return None
    return NOT_MINE


def _pop3(data: bytes) -> Step:
    line = _greeting_line(data, b"+OK")
    if not isinstance(line, bytes):
        return line
    if line[3:4] not in (b"", b" "):
        return NOT_MINE
    return Verdict("pop3", {"banner": text(line)}, farewell=b"QUIT\r\n")


def _rsync(data: bytes) -> Step:
    line = _greeting_line(data, b"@RSYNCD: ", 256)
    if not isinstance(line, bytes):
        return line
    version, *digests = text(line[9:]).split() or [""]
    details: Details = {"version": version}
    if digests:
        details["digests"] = digests
    return Verdict("rsync", details)


def _vnc(data: bytes) -> Step:
    """RFB's ProtocolVersion: exactly `RFB xxx.yyy\\n`."""
    if not b"RFB ".startswith(data[:4]):
        return NOT_MINE
    if len(data) < 12:
        return None
    match = re.fullmatch(rb"RFB (\d{3})\.(\d{3})\n", data[:12])
    if match is None:
        return NOT_MINE
    return Verdict("vnc", {"version": f"{int(match.group(1))}.{int(match.group(2))}"})


NATS_FIELDS = ("version", "server_name", "proto", "go", "auth_required", "tls_required", "jetstream", "max_payload")


def _nats(data: bytes) -> Step:
    """NATS opens with `INFO {json}` on one line."""
    line = _greeting_line(data, b"INFO ", 64 * 1024)
    if not isinstance(line, bytes):
        return line
    try:
        info = json.loads(line[5:])
    except ValueError:
        return NOT_MINE
    if not isinstance(info, dict) or "server_id" not in info:
        return NOT_MINE
    return Verdict("nats", {key: info[key] for key in NATS_FIELDS if key in info})


def _redis_full(data: bytes) -> Step:
    """Redis speaks first only to refuse: `-ERR max number of clients reached`."""
    expected = b"-ERR max number of clients reached"
    if not expected.startswith(data[: len(expected)]):
        return NOT_MINE
    if len(data) < len(expected):
        return None
    return Verdict("redis", {"error": text(expected[1:])})


def mysql_greeting(data: bytes) -> Step:
    """The MySQL/MariaDB initial handshake (protocol 10), or the error packet a server sends instead."""
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
        version = text(payload[1:end])
        if not version[:1].isdigit():
            return NOT_MINE
        version = version.removeprefix("5.5.5-")  # MariaDB's prefix for clients that parse the major version
        flavour = "mariadb" if "mariadb" in version.lower() else "mysql"
        return Verdict("mysql", {"version": version, "flavour": flavour})
    if payload[0] == 0xFF and length >= 3:
        if len(payload) < length:
            return None
        code = int.from_bytes(payload[1:3], "little")
        return Verdict("mysql", {"error_code": code, "error": payload[3:].decode("latin-1", "replace")})
    return NOT_MINE
