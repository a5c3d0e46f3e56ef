"""Would an HTTP client send this request to a proxy? The *_proxy / no_proxy rules.

curl, wget, Python (urllib, requests, httpx) and Node's env-proxy agents all read
`http_proxy` / `https_proxy` / `all_proxy` (Python also the upper-case forms; curl
ignores upper-case `HTTP_PROXY`) and skip hosts that `no_proxy` covers. None of them
exempts localhost by itself, so a proxy variable without `no_proxy=localhost` carries a
request for a local service to the proxy, which cannot reach it. Pure: environment in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from portside._typing import NamedTuple
from portside.net.addresses import SECURE_SCHEMES


class ProxyRoute(NamedTuple):
    """The variable that would carry the request, its value, and the no_proxy that was read."""

    variable: str
    proxy: str
    no_proxy: str


def _variables(scheme: str) -> tuple[str, ...]:
    base = "https" if scheme in SECURE_SCHEMES else "http"
    return (f"{base}_proxy", f"{base.upper()}_PROXY", "all_proxy", "ALL_PROXY")


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


def _covers(entry: str, host: str, port: int) -> bool:
    name, entry_port = _split_port(entry.strip().lower())
    if entry_port is not None and entry_port != port:
        return False
    name = name.removeprefix("*").removeprefix(".").rstrip(".")
    if not name:
        return False
    try:
        network = ipaddress.ip_network(name, strict=False)
    except ValueError:
        return host == name or host.endswith("." + name)
    try:
        return ipaddress.ip_address(host) in network
    except ValueError:
        return False


def bypasses(no_proxy: str, host: str, port: int) -> bool:
    """True when a `no_proxy` list exempts `host` (names by suffix, addresses and CIDR blocks, `*` all)."""
    wanted = host.lower().strip("[]").rstrip(".")
    entries = [entry for part in no_proxy.split(",") for entry in part.split()]
    return any(entry.strip() == "*" or _covers(entry, wanted, port) for entry in entries)


def proxy_route(scheme: str, host: str, port: int, environ: Mapping[str, str]) -> ProxyRoute | None:
    """The proxy an environment-reading HTTP client would use for `scheme://host:port`, if any."""
    no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY") or ""
    if bypasses(no_proxy, host, port):
        return None
    for variable in _variables(scheme):
        value = environ.get(variable, "").strip()
        if value:
            return ProxyRoute(variable, value, no_proxy)
    return None
