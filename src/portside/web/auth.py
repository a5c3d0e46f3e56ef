"""Who may read the dashboard and act through it — pure decisions, so each refusal is tested alone.

The dashboard shows what runs on this machine and can stop it, so: other local users and web
pages must neither read nor act.

- Host: only `portside.localhost:PROXYPORT` (no port when it is the scheme's) reaches the dashboard;
  any other Host gets the proxy's normal handling (a page's own name pointed at 127.0.0.1 — DNS
  rebinding — is refused there with 421).
- Peer: loopback only, even when the proxy listens on every address (`--lan`).
- Token: a per-user secret (token.py, 0600 under the state dir) in a `SameSite=Strict; HttpOnly`
  cookie, or an `Authorization: Bearer` header for scripts; compared with hmac.compare_digest.
  The one hand-over URL `/auth?token=...` sets the cookie and redirects to `/`.
- Actions (POST) also need an `Origin` of the dashboard itself and a request a page on another
  origin cannot send without a CORS preflight the dashboard never grants: the header
  `X-Portside-Action`, or a JSON body.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import NamedTuple

DASHBOARD_HOST = "portside.localhost"
COOKIE_PREFIX = "portside_dashboard_"
ACTION_HEADER = "x-portside-action"
HANDOVER = "/auth"


class Request(NamedTuple):
    """What the decisions look at: method, path, query (decoded), headers (lower-case names), the client's
    address (as the proxy saw it) and the scheme it came in on."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    peer: str
    scheme: str


class Verdict(NamedTuple):
    """`status` 0: allowed; else the status to answer and why."""

    status: int
    reason: str


ALLOWED = Verdict(0, "")


def origin_of(scheme: str, port: int) -> str:
    """The dashboard's origin: scheme://portside.localhost[:port]."""
    default = (scheme, port) in (("http", 80), ("https", 443))
    return f"{scheme}://{DASHBOARD_HOST}" + ("" if default else f":{port}")


def is_dashboard_host(host: str, port: int) -> bool:
    """True for a Host that is exactly the dashboard's: portside.localhost with the proxy's port (case aside; the port
    may be left out only when the proxy listens on 80 or 443)."""
    host = host.strip().lower()
    if host == f"{DASHBOARD_HOST}:{port}":
        return True
    return host == DASHBOARD_HOST and port in (80, 443)


def cookie_name(port: int) -> str:
    """Cookies are not kept apart by port: one name per proxy port, so two state dirs' dashboards do not clash."""
    return f"{COOKIE_PREFIX}{port}"


def is_loopback_peer(peer: str) -> bool:
    """True for 127.0.0.0/8, ::1 and an IPv4-mapped loopback address."""
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def cookies(header: str) -> dict[str, str]:
    """A Cookie header's pairs (the first of a repeated name wins)."""
    found: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in found:
            found[name] = value.strip().strip('"')
    return found


def presented_token(request: Request, port: int) -> str | None:
    """The token the request carries: the query's on the hand-over URL, else the cookie, else a Bearer header."""
    if request.path == HANDOVER:
        return request.query.get("token")
    cookie = cookies(request.headers.get("cookie", "")).get(cookie_name(port))
    if cookie:
        return cookie
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def token_matches(presented: str | None, secret: str) -> bool:
    """Constant-time comparison; nothing matches an empty secret."""
    if not presented or not secret:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "surrogateescape"), secret.encode())


def is_action_request(request: Request) -> bool:
    """A request a cross-origin page cannot make without a preflight: the custom header, or a JSON body."""
    if ACTION_HEADER in request.headers:
        return True
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "application/json"


def judge(request: Request, secret: str, port: int, *, action: bool) -> Verdict:
    """May this request be answered? Host, peer, token, and for an `action` Origin and a non-simple request."""
    if not is_dashboard_host(request.headers.get("host", ""), port):
        return Verdict(421, "this is not the dashboard's host")
    if not is_loopback_peer(request.peer):
        return Verdict(403, "the dashboard answers only on loopback")
    if not token_matches(presented_token(request, port), secret):
        return Verdict(403, "no valid dashboard token: open the dashboard with `portside dashboard`")
    if not action:
        return ALLOWED
    if request.method != "POST":
        return Verdict(405, "actions are POST requests")
    origin = request.headers.get("origin")
    if origin is None:
        return Verdict(403, "an action needs an Origin header")
    if origin != origin_of(request.scheme, port):
        return Verdict(403, f"cross-origin action refused (Origin {origin})")
    if not is_action_request(request):
        return Verdict(403, "an action needs the X-Portside-Action header or a JSON body")
    return ALLOWED
