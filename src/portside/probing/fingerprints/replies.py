"""What an answer to the wrong question gives away.

The probe asks each port one question (the likeliest protocol's). When the answer is not
that protocol's, it may still name the server: an HTTP status line, HTTP/2 SETTINGS, a TLS
alert, Redis's `-ERR`, memcached's `ERROR`, an AMQP protocol header, an LDAP notice, or a
greeting that came late. `recognise` says which, and which fingerprint to ask on a fresh
connection for the details (`follow`), since that one is then the server's own protocol.
"""

from __future__ import annotations

from portside.probing.fingerprints.brokers import Amqp
from portside.probing.fingerprints.cleartext_h2 import looks_like_h2
from portside.probing.fingerprints.greetings import Greeting
from portside.probing.fingerprints.ldap import Ldap
from portside.probing.fingerprints.verdict import Verdict, first_line
from portside.probing.http import NotHttp, parse_response_head


def recognise(data: bytes) -> Verdict | None:
    """The protocol `data` (an answer to some other protocol's question) belongs to, or None."""
    if not data:
        return None
    if data.startswith(b"HTTP/1."):
        try:
            head = parse_response_head(data)
        except NotHttp:
            head = None
        return Verdict("http", {"status": head.status if head else None}, follow="http")
    if looks_like_h2(data):
        return Verdict("http2", {}, follow="http2")
    if data[:1] in (b"\x15", b"\x16") and data[1:2] == b"\x03":
        return Verdict("tls", {}, follow="tls")
    line = first_line(data)
    if line is not None and line.startswith((b"-ERR ", b"-NOAUTH ", b"-WRONGPASS ", b"-DENIED ")):
        return Verdict("redis", {}, follow="redis")  # Redis checks a command's arity before auth: ask PING
    if line is not None and (line == b"ERROR" or line.startswith((b"CLIENT_ERROR ", b"SERVER_ERROR "))):
        return Verdict("memcached", {}, follow="memcached")
    for fingerprint in (Amqp(), Ldap(), Greeting()):
        verdict = fingerprint.at_eof(data)
        if verdict.protocol is not None:
            return verdict._replace(farewell=b"")
    return None
