"""The proxy's own answers: unknown names, dead backends, refused requests — HTML for browsers, text for curl.

The pages for an unknown name or a dead backend list the live routes, so a typo is one click
from the right name; a refused request gets a one-line reason.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import NamedTuple

from portside.model import Route
from portside.router.routing import url_of

REASONS = {400: "Bad Request", 404: "Not Found", 408: "Request Timeout", 414: "URI Too Long",
           421: "Misdirected Request", 431: "Request Header Fields Too Large", 501: "Not Implemented",
           502: "Bad Gateway", 505: "HTTP Version Not Supported"}
LISTING = frozenset({404, 502})  # a wrong name or a dead service: the live routes are what the user needs


def _links(routes: Iterable[Route], proxy_port: int, scheme: str) -> list[tuple[str, str]]:
    return [(url_of(r.name, proxy_port, scheme), f"{r.name} -> 127.0.0.1:{r.port} ({r.kind})") for r in routes]


class Page(NamedTuple):
    """One of the proxy's own responses, for either protocol to send."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def http1(self) -> bytes:
        """The page as a complete HTTP/1.1 response that closes the connection."""
        lines = b"".join(b"%s: %s\r\n" % pair for pair in self.headers)
        return (b"HTTP/1.1 %d %s\r\n%sConnection: close\r\n\r\n"
                % (self.status, REASONS.get(self.status, "Error").encode(), lines)) + self.body


def error_page(status: int, message: str, routes: Iterable[Route], *, proxy_port: int, scheme: str,
               wants_html: bool) -> Page:
    """Say what went wrong and where the live services are."""
    links = _links(routes, proxy_port, scheme)
    title = f"{status} {REASONS.get(status, 'Error')}"
    listing = status in LISTING
    if wants_html:
        items = "".join(f'<li><a href="{html.escape(url)}">{html.escape(url)}</a> {html.escape(text)}</li>'
                        for url, text in links) or "<li>none: start one with <code>portside run NAME -- CMD</code></li>"
        listed = f"<h2>Live services</h2><ul>{items}</ul>" if listing else ""
        body = (f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head><body>"
                f"<h1>{title}</h1><p>{html.escape(message)}</p>{listed}"
                "<p><small>portside proxy</small></p></body></html>\n").encode()
        kind = b"text/html; charset=utf-8"
    else:
        lines = "".join(f"  {url}  {text}\n" for url, text in links) or "  none: portside run NAME -- CMD\n"
        listed = f"live services:\n{lines}" if listing else ""
        body = f"{title}: {message}\n{listed}".encode()
        kind = b"text/plain; charset=utf-8"
    return Page(status, [(b"content-type", kind), (b"content-length", b"%d" % len(body)),
                         (b"cache-control", b"no-store"), (b"server", b"portside")], body)
