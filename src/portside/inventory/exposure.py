"""Judge who can reach a bound socket, from its address and the machine's interfaces.

Pure. A loopback address (127.0.0.0/8, ::1, ::ffff:127.x) is `loopback`; a wildcard
(0.0.0.0, ::) is `all`, reachable on every address of its family — and on every IPv4
address too when an IPv6 wildcard has IPV6_V6ONLY off (dual stack); one concrete
non-loopback address is `interface`. A wildcard bound to one device (SO_BINDTODEVICE)
reaches only that device's addresses. Firewalls are not considered here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from portside.model import Exposure, Family, InterfaceAddress
from portside.net.addresses import AddressKind, classify


class Judgement(NamedTuple):
    exposure: Exposure
    dual_stack: bool
    reachable_on: tuple[str, ...]


def judge(
    family: Family,
    address: str,
    v6only: bool | None,
    interfaces: tuple[InterfaceAddress, ...],
    bound_interface: int = 0,
) -> Judgement:
    """Exposure, dual-stack flag and concrete reachable addresses of one bound socket."""
    kind = classify(address)
    if kind is not AddressKind.WILDCARD:
        exposure = Exposure.LOOPBACK if kind is AddressKind.LOOPBACK else Exposure.INTERFACE
        return Judgement(exposure, False, (address,))
    dual_stack = family is Family.IPV6 and v6only is False
    families = {Family.IPV4, Family.IPV6} if dual_stack else {family}
    candidates = [i for i in interfaces if i.family in families]
    if bound_interface:
        candidates = [i for i in candidates if i.if_index == bound_interface]
    reachable = tuple(_ordered(i.address for i in candidates))
    if bound_interface:
        if candidates and all(classify(i.address) is AddressKind.LOOPBACK for i in candidates):
            return Judgement(Exposure.LOOPBACK, dual_stack, reachable)
        return Judgement(Exposure.INTERFACE, dual_stack, reachable)
    return Judgement(Exposure.ALL, dual_stack, reachable)


def _ordered(addresses: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for address in addresses:
        if address not in seen:
            seen.append(address)
    return seen
