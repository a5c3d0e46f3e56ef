"""Turn a target's host into the addresses a client would dial.

`localhost` and `*.localhost` are both loopback families whatever /etc/hosts says
(RFC 6761, as browsers do); literal addresses are themselves; other names go through
getaddrinfo, in the order the system resolver returns them. A zone given by index
(fe80::1%2) is named by its interface (fe80::1%eth0), as the inventory names it, and
`sockaddr` turns a zone back into the scope id that connect() needs: Python's
`connect(("fe80::1%eth0", port))` ignores the zone and fails with EINVAL.
"""

from __future__ import annotations

import ipaddress
import socket

from portside.errors import TargetError
from portside.net.addresses import Target, host_port, parse_target

LOOPBACKS = ("::1", "127.0.0.1")


def addresses_of(target: Target) -> tuple[str, ...] | None:
    """Addresses to match or dial for `target`; None when it names only a port."""
    if target.host is None:
        return None
    if target.is_loopback_name:
        return LOOPBACKS
    if target.address is not None:
        return (_named_zone(target.address),)
    try:
        return resolver_order(target.host, target.port)
    except socket.gaierror as error:
        raise TargetError(target.host, f"cannot resolve host name ({error.strerror})") from None


def resolver_order(host: str, port: int) -> tuple[str, ...]:
    """The addresses getaddrinfo gives `host`, in its order, each once; socket.gaierror when it gives none."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


def dial_addresses(target: Target) -> tuple[str, ...]:
    """Addresses a client dials for `target`; a bare port means localhost, so both loopbacks.

    TargetError for a link-local address without its zone: no interface is named, so it cannot be dialled.
    """
    found = addresses_of(target) or LOOPBACKS
    for address in found:
        if "%" not in address and ":" in address and ipaddress.IPv6Address(address).is_link_local:
            raise TargetError(host_port(address, target.port),
                              f"{address} is link-local: name its interface, e.g. [{address}%eth0]:{target.port}")
    return found


def aim(target: int | str) -> tuple[Target, tuple[str, ...] | None]:
    """A target as callers give it (a port number or any target text), parsed, with the addresses it names."""
    parsed = parse_target(str(target))
    return parsed, addresses_of(parsed)


def _named_zone(address: str) -> str:
    """`address` with a numeric zone replaced by its interface's name, when one has that index."""
    host, mark, zone = address.partition("%")
    if not mark or not zone.isdigit():
        return address
    try:
        return f"{host}%{socket.if_indextoname(int(zone))}"
    except OSError:
        return address


def sockaddr(address: str, port: int) -> tuple[str, int] | tuple[str, int, int, int]:
    """What connect() and bind() take for `address`: (host, port), or for a scoped IPv6 address
    (host, port, flowinfo, scope id). OSError when the zone names no interface here."""
    host, mark, zone = address.partition("%")
    if not mark:
        return address, port
    return host, port, 0, int(zone) if zone.isdigit() else socket.if_nametoindex(zone)
