"""HTTP/1.x: the head a client of the target meets, and what the page tells about the server behind it.

`Http` reads the status line and headers of a GET (doctor and wait judge by them). `WebPage`
is the probe's GET: it reads the body too (up to `BODY_CAP`, and to its end so that no
server sees its answer cut off), and names the dev server or debugger that answered:
Vite's `/@vite/client`, Next's `X-Powered-By`, Django's runserver, Rails, Jupyter, webpack's
dev server (an Express server is asked for the assets report webpack keeps at
`/webpack-dev-server`), the Node inspector's "WebSockets request was expected" and Chrome's
DevTools server (both then asked `/json/version`), MongoDB's own answer to HTTP on its driver port,
and a TLS server's answer to plain HTTP (then asked with TLS).

WebPage writes `Host:` with no space after the colon (optional whitespace, RFC 9112 5.1):
a Redis server reached with an unexpected GET logs "Possible SECURITY ATTACK" when a line
starts with the word `Host:`, and this spelling is not that word, for any HTTP server alike.
"""

from __future__ import annotations

import json

from portside.net.addresses import Target, host_port
from portside.probing.fingerprints.verdict import NOT_MINE, Details, Step, Verdict
from portside.probing.http import NotHttp, ResponseHead, parse_response_head

BODY_CAP = 64 * 1024
NO_BODY = frozenset({204, 304})
PLAIN_TO_TLS = (b"The plain HTTP request was sent to HTTPS port", b"Client sent an HTTP request to an HTTPS server")
MONGODB_ON_HTTP = b"It looks like you are trying to access MongoDB over HTTP on the native driver port."


def request(host: str, path: str, *, spaced: bool = True) -> bytes:
    """A GET that closes after the answer."""
    space = " " if spaced else ""
    return (f"GET {path} HTTP/1.1\r\nHost:{space}{host}\r\nUser-Agent: portside\r\nAccept: */*\r\n"
            "Connection: close\r\n\r\n").encode()


def _head(data: bytes) -> ResponseHead | Verdict | None:
    """The response head, None while it may still be coming, NOT_MINE once the bytes cannot be HTTP."""
    try:
        return parse_response_head(data)
    except NotHttp:
        return NOT_MINE


def head_details(head: ResponseHead) -> Details:
    return {"status": head.status, "reason": head.reason, "server": head.header("server"), "version": head.version}


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
        return request(self.host, self.path)

    def feed(self, data: bytes) -> Verdict | None:
        head = _head(data)
        return Verdict("http", head_details(head)) if isinstance(head, ResponseHead) else head

    def at_eof(self, data: bytes) -> Verdict:
        return self.feed(data) or NOT_MINE


def _head_length(data: bytes) -> int:
    ends = [(index, len(mark)) for mark in (b"\r\n\r\n", b"\n\n") if (index := data.find(mark)) >= 0]
    index, size = min(ends)
    return index + size


def _body_complete(head: ResponseHead, body: bytes) -> bool:
    if head.status in NO_BODY or head.status < 200 or len(body) >= BODY_CAP:
        return True
    length = head.header("content-length")
    if length is not None and length.isdigit():
        return len(body) >= int(length)
    if (head.header("transfer-encoding") or "").lower().endswith("chunked"):
        return body.endswith(b"0\r\n\r\n")
    return False


class WebPage:
    """The probe's GET of /: the head, the start of the page, and what they name."""

    name = "http"

    def __init__(self, host: str, path: str = "/") -> None:
        self.host = host
        self.path = path

    def opening(self) -> bytes:
        return request(self.host, self.path, spaced=False)

    def feed(self, data: bytes) -> Step:
        return self._judge(data, final=False)

    def at_eof(self, data: bytes) -> Verdict:
        return self._judge(data, final=True) or NOT_MINE

    def _judge(self, data: bytes, final: bool) -> Verdict | None:
        head = _head(data)
        if not isinstance(head, ResponseHead):
            return head
        start = _head_length(data)
        body = data[start:]
        if not final and not _body_complete(head, body):
            return None
        return self.verdict(head, data[:start], body)

    def verdict(self, head: ResponseHead, raw_head: bytes, body: bytes) -> Verdict:
        return page_verdict(head, raw_head, body)


def page_verdict(head: ResponseHead, raw_head: bytes, body: bytes) -> Verdict:
    """What an answer to GET / says: plain HTTP with its server named, or the protocol it gives away."""
    details = head_details(head)
    if MONGODB_ON_HTTP in body:
        return Verdict("mongodb", {"note": "answered HTTP on its driver port"}, follow="mongodb")
    if head.status == 400 and any(text in body for text in PLAIN_TO_TLS):
        return Verdict("http", details, follow="tls")
    if head.status == 400 and body.startswith(b"WebSockets request was expected"):
        return Verdict("http", details, follow="devtools")  # the Node inspector
    if b"\r\nX-Frame-Options:DENY\r\n" in raw_head and head.header("server") is None:
        return Verdict("http", details, follow="devtools")  # Chrome's DevTools server writes "Name:value"
    dev_server = dev_server_of(head, body)
    if dev_server:
        details["dev_server"] = dev_server
    elif head.header("x-powered-by") == "Express":
        return Verdict("http", details, follow="webpack")  # webpack's dev server runs on Express
    return Verdict("http", details)


def dev_server_of(head: ResponseHead, body: bytes) -> str | None:
    """The dev server a page came from, by what each one leaves in its answers to GET /."""
    server = head.header("server") or ""
    powered = head.header("x-powered-by") or ""
    policy = head.header("content-security-policy") or ""
    lowered = body.lower()
    if b"/@vite/client" in body:
        return "vite"
    if "next.js" in powered.lower() or b"/_next/static/" in body:
        return "next"
    if server.startswith("WSGIServer/") and (head.header("cross-origin-opener-policy") is not None
                                             or b"django" in lowered):
        return "django"
    if head.header("x-runtime") is not None and head.header("x-request-id") is not None:
        return "rails"
    if "/api/security/csp-report" in policy or (server.startswith("TornadoServer/") and b"jupyter" in lowered):
        return "jupyter"
    return None


class DevTools(WebPage):
    """GET /json/version: what a Chrome DevTools endpoint or the Node inspector says it is."""

    name = "devtools"

    def __init__(self, host: str) -> None:
        super().__init__(host, "/json/version")

    def verdict(self, head: ResponseHead, raw_head: bytes, body: bytes) -> Verdict:
        try:
            document = json.loads(body)
        except ValueError:
            return NOT_MINE
        if head.status != 200 or not isinstance(document, dict) or not isinstance(document.get("Browser"), str):
            return NOT_MINE
        browser: str = document["Browser"]
        details = head_details(head)
        details.update({"debugger": "node" if browser.startswith("node.js/") else "chrome", "browser": browser,
                        "protocol_version": document.get("Protocol-Version")})
        return Verdict("http", details)


class WebpackAssets(WebPage):
    """GET /webpack-dev-server: the assets report webpack's dev server keeps there."""

    name = "webpack"

    def __init__(self, host: str) -> None:
        super().__init__(host, "/webpack-dev-server")

    def verdict(self, head: ResponseHead, raw_head: bytes, body: bytes) -> Verdict:
        if head.status != 200 or b"Assets Report" not in body:
            return NOT_MINE
        return Verdict("http", {"dev_server": "webpack"})
