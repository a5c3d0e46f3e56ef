"""Which route a request is for, or why it is refused — pure, so every rule is tested alone.

Only `NAME.localhost` hosts are routed: `api.NAME.localhost` goes to the route `api.NAME`
when there is one, else to `NAME`. A Host that is not a `.localhost` name or a loopback
address is refused with 421: a page on the web can point a name of its own at 127.0.0.1
(DNS rebinding), and the browser would send that name. An absolute-form request line for
another host is refused with 400, so the proxy is never an open forward proxy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from portside._typing import NamedTuple
from portside.model import Route
from portside.net.addresses import loopback_form

LOCALHOST = "localhost"


class Decision(NamedTuple):
    """`route` to forward to; else the status to answer (404 unknown name, 421/400 refused) and why."""

    route: Route | None
    status: int
    reason: str
    host: str


def _host_name(host: str) -> str | None:
    """The host without port, lower-case; None when the Host header cannot be a host."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else None
    name, _, port = host.partition(":")
    if port and not port.isdigit():
        return None
    return name.rstrip(".")


def url_of(name: str, port: int, scheme: str) -> str:
    """Where the proxy serves `name`: scheme://NAME.localhost[:port]/ (the port left out when it is the scheme's)."""
    suffix = "" if (scheme, port) in (("http", 80), ("https", 443)) else f":{port}"
    return f"{scheme}://{name}.localhost{suffix}/"


def route_for(name: str, routes: Mapping[str, Route]) -> Route | None:
    """The route of `name` (a.b.c), else of its parent names (b.c, then c)."""
    labels = name.split(".")
    for start in range(len(labels)):
        found = routes.get(".".join(labels[start:]))
        if found is not None:
            return found
    return None


def decide(host_headers: Sequence[bytes], target: bytes, routes: Mapping[str, Route]) -> Decision:
    """Route a request by its Host header (or the host of an absolute-form target)."""
    if len(host_headers) > 1:
        return Decision(None, 400, "the request has several Host headers", "")
    host_text = host_headers[0].decode("latin-1") if host_headers else ""
    if target[:1] != b"/" and target != b"*":
        split = urlsplit(target.decode("latin-1"))
        absolute = (split.hostname or "").rstrip(".")
        if split.scheme not in ("http", "https") or not (absolute == LOCALHOST or absolute.endswith(".localhost")):
            return Decision(None, 400, "this is not a forward proxy: only NAME.localhost is served here", host_text)
        if "@" in split.netloc:  # RFC 9110 4.2.4: userinfo has no place in a request
            return Decision(None, 400, "the request target holds userinfo (user@)", host_text)
        host_text = split.netloc
    if not host_text:
        return Decision(None, 400, "the request has no Host header", host_text)
    host = _host_name(host_text)
    if host is None:
        return Decision(None, 400, f"malformed Host header {host_text!r}", host_text)
    if host == LOCALHOST or loopback_form(host) is not None:
        return Decision(None, 404, "no name in the Host: use http://NAME.localhost", host_text)
    if not host.endswith(".localhost"):
        return Decision(None, 421, f"{host} is not a .localhost name (refused: DNS rebinding protection)", host_text)
    name = host.removesuffix(".localhost")
    route = route_for(name, routes)
    if route is None:
        return Decision(None, 404, f"no live service is named {name}", host_text)
    return Decision(route, 0, "", host_text)
