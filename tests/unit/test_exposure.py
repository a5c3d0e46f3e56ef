"""Exposure judgement, a pure function: a table of bindings against fixed interfaces and local routes."""

from __future__ import annotations

import ipaddress

import pytest

from portside.inventory.exposure import judge
from portside.inventory.snapshot import LocalRoute
from portside.model import Exposure, Family, InterfaceAddress

IFACES = (
    InterfaceAddress(Family.IPV4, "127.0.0.1", "lo", 1),
    InterfaceAddress(Family.IPV6, "::1", "lo", 1),
    InterfaceAddress(Family.IPV4, "192.0.2.2", "eth0", 2),
    InterfaceAddress(Family.IPV6, "fd00::2", "eth0", 2),
    InterfaceAddress(Family.IPV4, "10.9.0.1", "wg0", 3),
)
# What `ip route show table local` lists for IFACES, plus eth0's link-local address, a broadcast and an AnyIP range.
ROUTES = tuple(LocalRoute(ipaddress.ip_network(network), device) for network, device in (
    ("127.0.0.0/8", 1), ("127.255.255.255/32", 1), ("::1/128", 1), ("192.0.2.2/32", 2), ("192.0.2.255/32", 2),
    ("fd00::2/128", 2), ("fe80::1/128", 2), ("10.9.0.1/32", 3), ("10.77.0.0/16", 1),
))


@pytest.mark.parametrize(
    "family, address, v6only, device, exposure, dual, reachable",
    [
        (Family.IPV4, "127.0.0.1", None, 0, Exposure.LOOPBACK, False, ("127.0.0.1",)),
        (Family.IPV4, "127.0.0.53", None, 0, Exposure.LOOPBACK, False, ("127.0.0.53",)),
        (Family.IPV6, "::1", True, 0, Exposure.LOOPBACK, False, ("::1",)),
        # IPv4-mapped binds accept IPv4 only: told (and dialled) as their IPv4 address, never dual-stack
        (Family.IPV6, "::ffff:127.0.0.1", False, 0, Exposure.LOOPBACK, False, ("127.0.0.1",)),
        (Family.IPV6, "::ffff:192.0.2.2", False, 0, Exposure.INTERFACE, False, ("192.0.2.2",)),
        (Family.IPV6, "::ffff:0.0.0.0", False, 0, Exposure.ALL, False, ("127.0.0.1", "192.0.2.2", "10.9.0.1")),
        (Family.IPV6, "::ffff:0.0.0.0", False, 2, Exposure.INTERFACE, False, ("192.0.2.2",)),
        (Family.IPV4, "192.0.2.2", None, 0, Exposure.INTERFACE, False, ("192.0.2.2",)),
        (Family.IPV4, "0.0.0.0", None, 0, Exposure.ALL, False, ("127.0.0.1", "192.0.2.2", "10.9.0.1")),
        (Family.IPV6, "::", True, 0, Exposure.ALL, False, ("::1", "fd00::2")),
        (Family.IPV6, "::", False, 0, Exposure.ALL, True, ("127.0.0.1", "::1", "192.0.2.2", "fd00::2", "10.9.0.1")),
        (Family.IPV4, "0.0.0.0", None, 1, Exposure.LOOPBACK, False, ("127.0.0.1",)),
        (Family.IPV4, "0.0.0.0", None, 3, Exposure.INTERFACE, False, ("10.9.0.1",)),
        # IPV6_V6ONLY unknown (an adapter that cannot read it): not claimed dual-stack
        (Family.IPV6, "::", None, 0, Exposure.ALL, False, ("::1", "fd00::2")),
        (Family.IPV6, "fe80::1%eth0", True, 2, Exposure.INTERFACE, False, ("fe80::1%eth0",)),
        # an address no route of the local table holds (removed after the bind) is reachable on nothing
        (Family.IPV4, "203.0.113.9", None, 0, Exposure.INTERFACE, False, ()),
        (Family.IPV6, "2001:db8::9", True, 0, Exposure.INTERFACE, False, ()),
        (Family.IPV6, "::ffff:203.0.113.9", False, 0, Exposure.INTERFACE, False, ()),
        # a link-local address counts only on its own device
        (Family.IPV6, "fe80::1%wg0", True, 3, Exposure.INTERFACE, False, ()),
        # every 127.x is local, and so are broadcast and AnyIP routes; multicast groups are not judged
        (Family.IPV4, "127.8.9.10", None, 0, Exposure.LOOPBACK, False, ("127.8.9.10",)),
        (Family.IPV4, "192.0.2.255", None, 0, Exposure.INTERFACE, False, ("192.0.2.255",)),
        (Family.IPV4, "10.77.3.4", None, 0, Exposure.INTERFACE, False, ("10.77.3.4",)),
        (Family.IPV4, "239.255.255.250", None, 0, Exposure.INTERFACE, False, ("239.255.255.250",)),
        # a dual-stack wildcard bound to one device (SO_BINDTODEVICE) reaches that device's addresses of both families
        (Family.IPV6, "::", False, 1, Exposure.LOOPBACK, True, ("127.0.0.1", "::1")),
        (Family.IPV6, "::", False, 2, Exposure.INTERFACE, True, ("192.0.2.2", "fd00::2")),
        # bound to a device without addresses: reachable nowhere yet, and not called loopback
        (Family.IPV4, "0.0.0.0", None, 9, Exposure.INTERFACE, False, ()),
    ],
)
def test_judge(family, address, v6only, device, exposure, dual, reachable) -> None:  # type: ignore[no-untyped-def]
    result = judge(family, address, v6only, IFACES, device, ROUTES)
    assert (result.exposure, result.dual_stack, result.reachable_on) == (exposure, dual, reachable)
    assert (result.note is None) == (bool(reachable) or address in ("0.0.0.0", "::"))


def test_without_local_routes_every_address_is_taken_as_held() -> None:
    """The portable adapter reads no routes: no address is called unheld on a guess."""
    assert judge(Family.IPV4, "203.0.113.9", None, IFACES).reachable_on == ("203.0.113.9",)


def test_a_wildcard_lists_link_local_addresses_with_their_zone() -> None:
    scoped = (*IFACES, InterfaceAddress(Family.IPV6, "fe80::1", "eth0", 2), InterfaceAddress(Family.IPV4, "169.254.0.9",
                                                                                            "eth0", 2))
    assert judge(Family.IPV6, "::", True, scoped).reachable_on == ("::1", "fd00::2", "fe80::1%eth0")
    assert "169.254.0.9" in judge(Family.IPV4, "0.0.0.0", None, scoped).reachable_on


def test_an_address_on_two_interfaces_is_listed_once() -> None:
    twice = (*IFACES, InterfaceAddress(Family.IPV4, "192.0.2.2", "eth0:1", 2))
    assert judge(Family.IPV4, "0.0.0.0", None, twice).reachable_on == ("127.0.0.1", "192.0.2.2", "10.9.0.1")
