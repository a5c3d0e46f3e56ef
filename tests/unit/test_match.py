"""Which listeners a target reaches (accepts, matching) and which connections are their clients. Pure."""

from __future__ import annotations

import pytest
from records import connection, listener, process

from portside.inventory.match import accepts, clients, matching

WEB, DB = process(4100, "node"), process(4200, "postgres")


@pytest.mark.parametrize(("bound", "dual", "dialled", "reached"), [
    ("127.0.0.1", False, "127.0.0.1", True),
    ("127.0.0.1", False, "127.0.0.2", False),
    ("127.0.0.1", False, "::1", False),
    ("127.0.0.1", False, "::ffff:127.0.0.1", True),  # an IPv4-mapped client address is the IPv4 address
    ("::ffff:127.0.0.1", False, "127.0.0.1", True),  # an IPv6 socket bound to a mapped address
    ("::1", False, "::1", True),
    ("::1", False, "0:0:0:0:0:0:0:1", True),
    ("::1", False, "127.0.0.1", False),
    ("0.0.0.0", False, "127.0.0.1", True),
    ("0.0.0.0", False, "192.0.2.2", True),
    ("0.0.0.0", False, "::1", False),
    ("::", True, "127.0.0.1", True),  # dual stack: IPv4 too
    ("::", True, "::1", True),
    ("::", False, "127.0.0.1", False),  # IPV6_V6ONLY
    ("::", False, "fd00::2", True),
    ("fe80::1%eth0", False, "fe80::1", True),  # zone ids do not decide
    ("fe80::1", False, "fe80::1%eth0", True),
    ("fe80::1", False, "fe80::2", False),
])
def test_accepts(bound: str, dual: bool, dialled: str, reached: bool) -> None:
    assert accepts(listener(bound, 3000, dual_stack=dual), dialled) is reached


V4, V6, WILD, OTHER_PORT = (listener("127.0.0.1", 3000, WEB), listener("::1", 3000, WEB),
                            listener("0.0.0.0", 3000, DB), listener("127.0.0.1", 3001, WEB))
ALL = (V4, V6, WILD, OTHER_PORT)


@pytest.mark.parametrize(("addresses", "expected"), [
    (None, (V4, V6, WILD)),  # a bare port: everything on it
    (("127.0.0.1",), (V4, WILD)),
    (("::1",), (V6,)),
    (("::1", "127.0.0.1"), (V4, V6, WILD)),  # localhost: either family
    (("127.0.0.2",), (WILD,)),
    (("192.0.2.9",), (WILD,)),
    ((), ()),
])
def test_matching(addresses: tuple[str, ...] | None, expected: tuple[object, ...]) -> None:
    assert matching(ALL, 3000, addresses) == expected


def test_clients_are_connections_to_the_listeners_ports_but_not_their_own_sockets() -> None:
    served = (listener("127.0.0.1", 5432, DB, inodes=(11,)),)
    to_it = connection(("127.0.0.1", 5432), ("127.0.0.1", 50001), DB, inode=12)
    its_own = connection(("127.0.0.1", 5432), ("127.0.0.1", 50002), DB, inode=11)
    from_it = connection(("127.0.0.1", 50001), ("127.0.0.1", 5432), WEB, inode=13)
    elsewhere = connection(("127.0.0.1", 6379), ("127.0.0.1", 50003), inode=14)
    assert clients((to_it, its_own, from_it, elsewhere), served) == (to_it,)
    assert clients((to_it,), ()) == ()
