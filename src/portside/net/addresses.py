"""Address text: parse the targets users type, classify what sockets are bound to, write `host:port` back.

One parser for every verb: "62893", ":62893", "127.0.0.1:62893", "[::1]:62893",
"localhost:62893", "http://api.localhost/x" all become a `Target`. Scheme default
ports fill in a missing port for URLs. A scoped (link-local) IPv6 address keeps its zone,
"[fe80::5%eth0]:8080" (in a URL "%25", RFC 6874), since without it it cannot be dialled.
Classification follows DESIGN.md: loopback is all of 127.0.0.0/8 and ::1 (and their
IPv4-mapped forms); `localhost` and every `*.localhost` name are loopback (RFC 6761). Shown
again, an IPv6 address goes in brackets ([::1]:8080), as the parser reads it. Pure: no
resolving, no sockets.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum

from portside._typing import NamedTuple
from portside.errors import TargetError

SCHEME_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
SECURE_SCHEMES = frozenset({"https", "wss"})
MAX_PORT = 65535
MAX_ZONE = 15


class AddressKind(StrEnum):
    LOOPBACK = "loopback"
    WILDCARD = "wildcard"
    LINK_LOCAL = "link-local"
    PRIVATE = "private"
    PUBLIC = "public"


class Target(NamedTuple):
    """A port, optionally with the host it was named by and the URL scheme it came with."""

    port: int
    host: str | None = None
    scheme: str | None = None
    path: str = "/"

    @property
    def address(self) -> str | None:
        """The host as a literal IP address, or None when it is a name or absent."""
        if self.host is None:
            return None
        try:
            return str(ipaddress.ip_address(self.host))
        except ValueError:
            return None

    @property
    def name(self) -> str | None:
        """The host when it is a name (what TLS sends as SNI), None for an address literal or no host."""
        return self.host if self.host is not None and self.address is None else None

    @property
    def secure(self) -> bool:
        """True for https:// and wss:// targets."""
        return self.scheme in SECURE_SCHEMES

    @property
    def is_loopback_name(self) -> bool:
        """True for `localhost` and any `*.localhost` name."""
        return self.host is not None and is_localhost_name(self.host)


def is_localhost_name(host: str) -> bool:
    """`localhost` and every name under it mean loopback (RFC 6761 section 6.3)."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def bracketed(host: str) -> str:
    """`host` as it stands before `:port` or in a URL: an IPv6 address in brackets ([::1]), others as they are."""
    return f"[{host}]" if ":" in host else host


def host_port(host: str, port: int) -> str:
    """`host:port` as clients write it: 127.0.0.1:8080, [::1]:8080, localhost:8080."""
    return f"{bracketed(host)}:{port}"


def parse_port(text: str, original: str | None = None) -> int:
    """A TCP/UDP port from 1 to 65535; `original` names the whole target in errors."""
    shown = original if original is not None else text
    if not text:
        raise TargetError(shown, "the port is missing (expected a number from 1 to 65535)")
    if not text.isascii() or not text.isdigit():
        raise TargetError(shown, f"port {text!r} is not a number from 1 to 65535")
    port = int(text)
    if not 1 <= port <= MAX_PORT:
        raise TargetError(shown, f"port {port} is out of range (expected 1 to 65535)")
    return port


def _check_host(host: str, original: str) -> str:
    if not host:
        raise TargetError(original, "the host is empty")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if all(part.isdigit() for part in host.split(".")):
        raise TargetError(original, f"{host!r} is not a valid IPv4 address")
    labels = host.rstrip(".").split(".")
    for label in labels:
        if not label or len(label) > 63 or not all(c.isalnum() or c in "-_" for c in label) or not label.isascii():
            raise TargetError(original, f"{host!r} is not a valid host name or IP address")
        if label.startswith("-") or label.endswith("-"):
            raise TargetError(original, f"{host!r} is not a valid host name (a label starts or ends with '-')")
    return host.lower()


def _split_host_port(rest: str, original: str, url: bool) -> tuple[str, str | None]:
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            raise TargetError(original, "unclosed '[' in IPv6 address (expected e.g. [::1]:8080)")
        host = rest[1:close]
        after = rest[close + 1 :]
        if url:
            host = host.replace("%25", "%", 1)  # a zone in a URL is percent-encoded (RFC 6874)
        try:
            version = ipaddress.ip_address(host).version
        except ValueError:
            raise TargetError(original, f"{host!r} is not a valid IPv6 address") from None
        if version != 6:
            raise TargetError(original, "only IPv6 addresses go in brackets")
        zone = zone_of(host)
        if zone is not None and not _is_zone(zone):
            raise TargetError(original, f"zone {zone!r} is not an interface name or index (expected e.g. [fe80::1%eth0])")
        if not after:
            return host, None
        if not after.startswith(":"):
            raise TargetError(original, "expected ':PORT' after ']'")
        return host, after[1:]
    if rest.count(":") > 1:
        raise TargetError(original, "an IPv6 address with a port needs brackets, e.g. [::1]:8080")
    if ":" in rest:
        host, port = rest.split(":", 1)
        return host, port
    return rest, None


def _is_zone(zone: str) -> bool:
    """An interface name as Linux allows it (up to 15 visible characters, no '/' or ':'), or an index."""
    return 0 < len(zone) <= MAX_ZONE and zone.isascii() and zone.isprintable() and not any(
        c.isspace() or c in "/:%" for c in zone)


def parse_target(text: str) -> Target:
    """Parse a target as every verb accepts it; raise TargetError naming what is wrong."""
    original = text
    text = text.strip()
    if not text:
        raise TargetError(original, "empty target (expected a port like 8080 or an address like 127.0.0.1:8080)")
    scheme: str | None = None
    path = "/"
    if "://" in text:
        scheme, _, text = text.partition("://")
        scheme = scheme.lower()
        if scheme not in SCHEME_PORTS:
            raise TargetError(original, f"unsupported scheme {scheme!r} (expected one of {', '.join(SCHEME_PORTS)})")
        text = text.split("#", 1)[0]
        cut = min((index for index in (text.find("/"), text.find("?")) if index >= 0), default=len(text))
        text, path = text[:cut], text[cut:]
        path = path if path.startswith("/") else "/" + path
        if "@" in text:
            text = text.rsplit("@", 1)[1]
        if not text:
            raise TargetError(original, "the URL has no host")
    bare_port = (text.startswith(":") and text.count(":") == 1) or text.isdigit() or text.startswith("-")
    if scheme is None and bare_port:
        return Target(port=parse_port(text.removeprefix(":"), original))
    host, port_text = _split_host_port(text, original, scheme is not None)
    host = _check_host(host, original)
    if port_text is None:
        if scheme is None:
            raise TargetError(original, "no port given (expected HOST:PORT, a URL or a bare port)")
        return Target(port=SCHEME_PORTS[scheme], host=host, scheme=scheme, path=path)
    return Target(port=parse_port(port_text, original), host=host, scheme=scheme, path=path)


def zone_of(address: str) -> str | None:
    """The zone of a scoped address ("eth0" of fe80::1%eth0), None when it has none."""
    _, mark, zone = address.partition("%")
    return zone if mark else None


def scoped(address: str, zone: str) -> str:
    """`address` with `zone` when it needs one to be dialled: a link-local IPv6 address (fe80::/10).

    Other addresses are the same on every interface and are returned as they are.
    """
    if ":" not in address or "%" in address or not ipaddress.IPv6Address(address).is_link_local:
        return address
    return f"{address}%{zone}"


def dialled_as(address: str) -> str:
    """What a client dials to reach a socket bound to `address`: an IPv4-mapped address
    (::ffff:127.0.0.1) as its IPv4 address (127.0.0.1), any other (zone and all) as it is."""
    ip = ip_of(address)
    return str(ip) if ip.version == 4 and ":" in address else address


def ip_of(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IP address a socket's `address` stands for: an IPv4-mapped one (::ffff:127.0.0.1) as
    its IPv4 address, a zone (fe80::1%eth0) dropped. ValueError when it is not an address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def loopback_form(host: str) -> str | None:
    """`host` written one way when it is a loopback address (0:0:0:0:0:0:0:1 -> ::1, ::ffff:127.0.0.1 ->
    127.0.0.1), None when it is a name or another address; one spelling, so one certificate and one route."""
    try:
        ip = ip_of(host)
    except ValueError:
        return None
    return str(ip) if ip.is_loopback else None


def classify(address: str) -> AddressKind:
    """What kind of address a socket is bound to; IPv4-mapped IPv6 counts as its IPv4 address."""
    ip = ip_of(address)
    if ip.is_unspecified:
        return AddressKind.WILDCARD
    if ip.is_loopback:
        return AddressKind.LOOPBACK
    if ip.is_link_local:
        return AddressKind.LINK_LOCAL
    if ip.is_private:
        return AddressKind.PRIVATE
    return AddressKind.PUBLIC
