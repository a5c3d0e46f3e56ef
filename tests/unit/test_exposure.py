"""Exposure judgement, a pure function: a table of bindings against fixed interfaces."""

from __future__ import annotations

import pytest

from portside.inventory.exposure import judge
from portside.model import Exposure, Family, InterfaceAddress

IFACES = (
    InterfaceAddress(Family.IPV4, "127.0.0.1", "lo", 1),
    InterfaceAddress(Family.IPV6, "::1", "lo", 1),
    InterfaceAddress(Family.IPV4, "192.0.2.2", "eth0", 2),
    InterfaceAddress(Family.IPV6, "fd00::2", "eth0", 2),
    InterfaceAddress(Family.IPV4, "10.9.0.1", "wg0", 3),
)


@pytest.mark.parametrize(
    "family, address, v6only, device, exposure, dual, reachable",
    [
        (Family.IPV4, "127.0.0.1", None, 0, Exposure.LOOPBACK, False, ("127.0.0.1",)),
        (Family.IPV4, "127.0.0.53", None, 0, Exposure.LOOPBACK, False, ("127.0.0.53",)),
        (Family.IPV6, "::1", True, 0, Exposure.LOOPBACK, False, ("::1",)),
        (Family.IPV6, "::ffff:127.0.0.1", False, 0, Exposure.LOOPBACK, False, ("::ffff:127.0.0.1",)),
        (Family.IPV4, "192.0.2.2", None, 0, Exposure.INTERFACE, False, ("192.0.2.2",)),
        (Family.IPV4, "0.0.0.0", None, 0, Exposure.ALL, False, ("127.0.0.1", "192.0.2.2", "10.9.0.1")),
        (Family.IPV6, "::", True, 0, Exposure.ALL, False, ("::1", "fd00::2")),
        (Family.IPV6, "::", False, 0, Exposure.ALL, True, ("127.0.0.1", "::1", "192.0.2.2", "fd00::2", "10.9.0.1")),
        (Family.IPV4, "0.0.0.0", None, 1, Exposure.LOOPBACK, False, ("127.0.0.1",)),
        (Family.IPV4, "0.0.0.0", None, 3, Exposure.INTERFACE, False, ("10.9.0.1",)),
        # IPV6_V6ONLY unknown (an adapter that cannot read it): not claimed dual-stack
        (Family.IPV6, "::", None, 0, Exposure.ALL, False, ("::1", "fd00::2")),
        (Family.IPV6, "fe80::1%eth0", True, 0, Exposure.INTERFACE, False, ("fe80::1%eth0",)),
        (Family.IPV4, "203.0.113.9", None, 0, Exposure.INTERFACE, False, ("203.0.113.9",)),
        # a dual-stack wildcard bound to one device (SO_BINDTODEVICE) reaches that device's addresses of both families
        (Family.IPV6, "::", False, 1, Exposure.LOOPBACK, True, ("127.0.0.1", "::1")),
        (Family.IPV6, "::", False, 2, Exposure.INTERFACE, True, ("192.0.2.2", "fd00::2")),
        # bound to a device without addresses: reachable nowhere yet, and not called loopback
        (Family.IPV4, "0.0.0.0", None, 9, Exposure.INTERFACE, False, ()),
    ],
)
def test_judge(family, address, v6only, device, exposure, dual, reachable) -> None:  # type: ignore[no-untyped-def]
    result = judge(family, address, v6only, IFACES, device)
    assert (result.exposure, result.dual_stack, result.reachable_on) == (exposure, dual, reachable)


def test_an_address_on_two_interfaces_is_listed_once() -> None:
    twice = (*IFACES, InterfaceAddress(Family.IPV4, "192.0.2.2", "eth0:1", 2))
    assert judge(Family.IPV4, "0.0.0.0", None, twice).reachable_on == ("127.0.0.1", "192.0.2.2", "10.9.0.1")
