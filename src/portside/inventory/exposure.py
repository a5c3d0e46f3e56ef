"""Judge who can reach a bound socket, from its address, the machine's interfaces and its local routes.

Pure. A socket is told by what it accepts, not by its family: an IPv6 socket bound to an
IPv4-mapped address (::ffff:0.0.0.0, ::ffff:127.0.0.1) accepts only IPv4, so it is judged
as that IPv4 address and is never dual-stack. A loopback address (127.0.0.0/8, ::1) is
`loopback`; a wildcard (0.0.0.0, ::) is `all`, reachable on every address of its family —
and on every IPv4 address too when an IPv6 wildcard has IPV6_V6ONLY off (dual stack); one
concrete non-loopback address is `interface`. A wildcard bound to one device
(SO_BINDTODEVICE) reaches only that device's addresses. `reachable_on` lists what clients
dial: IPv4 for a mapped address, a link-local address with its zone (fe80::1%eth0).

A concrete address the kernel does not deliver here — in no route of its `local` table,
removed with `ip addr del` after the bind, or on a link that went down — is reachable on nothing: `reachable_on`
is empty and `Judgement.note` says why. Multicast groups are not addresses of an
interface and are not judged so. Firewalls are not considered here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from portside._typing import NamedTuple
from portside.inventory.snapshot import LocalRoute
from portside.model import Exposure, Family, InterfaceAddress, Listener
from portside.net.addresses import AddressKind, classify, dialled_as, ip_of, scoped


class Judgement(NamedTuple):
    exposure: Exposure
    dual_stack: bool
    reachable_on: tuple[str, ...]
    note: str | None = None


def judge(
    family: Family,
    address: str,
    v6only: bool | None,
    interfaces: tuple[InterfaceAddress, ...],
    bound_interface: int = 0,
    local_routes: tuple[LocalRoute, ...] | None = None,
) -> Judgement:
    """Exposure, dual-stack flag and concrete reachable addresses of one bound socket.

    `local_routes` None means unknown (an adapter that cannot read them): every address is taken as local.
    """
    kind = classify(address)
    if kind is not AddressKind.WILDCARD:
        exposure = Exposure.LOOPBACK if kind is AddressKind.LOOPBACK else Exposure.INTERFACE
        ip = ip_of(address)
        if local_routes is not None and not ip.is_multicast and not _delivered(ip, bound_interface, local_routes):
            return Judgement(exposure, False, (), not_local_note(dialled_as(address)))
        return Judgement(exposure, False, (dialled_as(address),))
    mapped = family is Family.IPV6 and ip_of(address).version == 4
    dual_stack = family is Family.IPV6 and v6only is False and not mapped
    own = Family.IPV4 if mapped else family
    families = {Family.IPV4, Family.IPV6} if dual_stack else {own}
    candidates = [i for i in interfaces if i.family in families]
    if bound_interface:
        candidates = [i for i in candidates if i.if_index == bound_interface]
    reachable = tuple(_ordered(_dialled(i) for i in candidates))
    if bound_interface:
        if candidates and all(classify(i.address) is AddressKind.LOOPBACK for i in candidates):
            return Judgement(Exposure.LOOPBACK, dual_stack, reachable)
        return Judgement(Exposure.INTERFACE, dual_stack, reachable)
    return Judgement(Exposure.ALL, dual_stack, reachable)


def not_local_note(address: str) -> str:
    """What a listener bound to an address the machine does not hold is told."""
    return (f"no interface that is up holds {address} (removed after the bind, or its link is down): nothing reaches "
            "this socket until the address is back or the server rebinds")


def unreachable_bind(listener: Listener) -> bool:
    """True for a listener bound to a concrete address that this machine does not hold (see `judge`)."""
    return not listener.reachable_on and classify(listener.address) is not AddressKind.WILDCARD


def _delivered(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, device: int,
               routes: tuple[LocalRoute, ...]) -> bool:
    """Does a local route take `ip` (on `device`, for a link-local address bound to one)?"""
    scoped_to = device if ip.version == 6 and ip.is_link_local else 0
    return any(ip in route.network and (not scoped_to or route.if_index == scoped_to)
               for route in routes if route.network.version == ip.version)


def _dialled(interface: InterfaceAddress) -> str:
    return scoped(interface.address, interface.interface) if interface.family is Family.IPV6 else interface.address


def _ordered(addresses: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for address in addresses:
        if address not in seen:
            seen.append(address)
    return seen
