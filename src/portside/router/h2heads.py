"""The heads that cross between an HTTP/2 client and an HTTP/1.1 backend. Pure: header lists in, bytes or lists out.

A request's header block (RFC 9113 8.3: pseudo-headers, lower-case names, cookies that
may come split into several fields) becomes the HTTP/1.1 head sent to the backend: the
request line from :method and :path, Host from :authority (else the client's Host
field), the cookies joined with "; " (8.2.3), connection-specific fields dropped
(8.2.2), chunked framing when the body's length is unknown, and X-Forwarded-For, -Proto
and -Host set by the proxy in place of any the client sent. The backend's response head
becomes the response header block: :status, then its fields in lower case less the
connection-specific ones, values without surrounding whitespace. A request whose :method
is not a token, or whose :path is not an HTTP/1.1 request-target (origin-form, or `*` for
OPTIONS, and no space, control or non-ASCII byte), is refused with 400 rather than
percent-encoded: the HTTP/1.1 side refuses the same bytes, so both protocols agree.

h2 is told not to validate or normalize header blocks (its checks cost more than the rest
of a request); `malformed` does what of RFC 9113 8.2-8.3 keeps the backend's HTTP/1.1
sound: lower-case token names, no control byte but HTAB in a value (RFC 9113 forbids NUL,
CR and LF; HTTP/1.1 parsers, the proxy's own among them, refuse the others), the four request
pseudo-headers only, once each, before the fields, :method, :scheme and :path present, and
no Content-Length above 0 on a request without a body. What else h2 would refuse is made
harmless here instead: connection-specific fields and TE are dropped, Host is :authority.
http2.py does the I/O around these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from portside.router.gateway import Gateway
from portside.router.http1 import Head

TOKEN = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
FIELD_NAME = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
PSEUDO = frozenset({b":method", b":scheme", b":authority", b":path"})
REQUIRED = (b":method", b":scheme", b":path")
NOT_IN_VALUE = bytes(range(0x09)) + bytes(range(0x0A, 0x20)) + b"\x7f"  # HTTP/1.1 field-value: HTAB, VCHAR, obs-text
NOT_IN_TARGET = bytes(range(0x21)) + b"\x7f"
HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade", b"te"})
Fields = tuple[tuple[bytes, bytes], ...]


class Request(NamedTuple):
    """An HTTP/2 request as the proxy needs it: what routes it (`hosts`, `target`) and what is sent on."""

    method: bytes
    target: bytes
    hosts: tuple[bytes, ...]
    accept: bytes | None
    fields: Fields
    chunked: bool


def malformed(headers: Sequence[tuple[bytes, bytes]], ended: bool) -> str | None:
    """Why the request's header block is malformed (the proxy answers 400), or None; see the module's docstring."""
    names = [name for name, _ in headers]
    values = b"".join([value for _, value in headers])
    if len(values.translate(None, NOT_IN_VALUE)) != len(values):
        return "a field value holds a control byte (NUL, CR, LF or another)"
    pseudo = [name for name in names if name[:1] == b":"]
    if names[:len(pseudo)] != pseudo or len(set(pseudo)) != len(pseudo) or not PSEUDO.issuperset(pseudo):
        return f"a pseudo-header is unknown, repeated or after a field: {b' '.join(pseudo)[:100]!r}"
    fields = names[len(pseudo):]
    if not all(fields) or b"".join(fields).translate(None, FIELD_NAME):
        return f"a field name is not a lower-case token: {b' '.join(fields)[:200]!r}"
    missing = [name for name in REQUIRED if name not in pseudo]
    if missing:
        return f"no {missing[0].decode()} pseudo-header"
    if ended and b"content-length" in fields and any(
            name == b"content-length" and value.lstrip(b"0") for name, value in headers):
        return "a Content-Length above 0 on a request without a body"
    return None


def request(headers: Sequence[tuple[bytes, bytes]], ended: bool) -> Request:
    """Read a request's header block; `ended` when the stream ended with it (no body)."""
    pseudo = {name: value for name, value in headers if name.startswith(b":")}
    fields = [(name, value) for name, value in headers if not name.startswith(b":") and name != b"cookie"]
    cookies = [value for name, value in headers if name == b"cookie"]
    if cookies:
        fields.append((b"cookie", b"; ".join(cookies)))
    authority = pseudo.get(b":authority")
    hosts = (authority,) if authority else tuple(value for name, value in fields if name == b"host")
    accept = next((value for name, value in fields if name == b"accept"), None)
    chunked = not ended and not any(name == b"content-length" for name, _ in fields)
    return Request(pseudo.get(b":method", b"GET"), pseudo.get(b":path", b"/"), hosts, accept, tuple(fields), chunked)


def refusal(asked: Request) -> str | None:
    """Why the request cannot be sent on as HTTP/1.1 (the proxy answers 400), or None when it can."""
    method, target = asked.method, asked.target
    if not method or method.translate(None, TOKEN):
        return f"the :method {method!r} is not a token"
    if target == b"*":
        return None if method == b"OPTIONS" else "the :path * is for OPTIONS only"
    if target[:1] != b"/" or not target.isascii() or len(target.translate(None, NOT_IN_TARGET)) != len(target):
        return f"the :path {target[:100]!r} is not a request target: it must start with / and hold no space, " \
               "control or non-ASCII byte (percent-encode them)"
    return None


def backend_head(sent: Request, *, peer: str, host: str) -> bytes:
    """The HTTP/1.1 head for the backend; `peer` is the client's address, `host` the Host it was routed by."""
    fields = [(b"host", sent.hosts[0] if sent.hosts else b"")]
    fields += [(name, value) for name, value in sent.fields if name not in HOP_BY_HOP and name != b"host"]
    if sent.chunked:
        fields.append((b"transfer-encoding", b"chunked"))
    head = Head(sent.method, sent.target, 0, b"", b"1.1", fields, True, False)
    return Gateway.forwarded_head(head, fields, Gateway.forwarded_fields(peer, host, "https"))


def response_fields(head: Head) -> list[tuple[bytes, bytes]]:
    """The HTTP/2 response header block for the backend's response head."""
    return [(b":status", b"%d" % head.status),
            *((name.lower(), value.strip(b" \t")) for name, value in head.headers if name.lower() not in HOP_BY_HOP)]
