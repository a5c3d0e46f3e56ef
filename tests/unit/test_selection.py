"""select(): an inventory filtered by port, owner pid, process name and exposure. Pure."""

from __future__ import annotations

import pytest
from records import connection, listener, process

from portside.inventory.selection import Selection, select
from portside.model import Inventory, Protocol

WEB, WORKER, DB = process(4100, "node"), process(4101, "node"), process(4200, "postgres")
PG = listener("127.0.0.1", 5432, DB)
APP = listener("0.0.0.0", 3000, WEB, WORKER)
DNS = listener("::", 5353, protocol=Protocol.UDP)  # owner not visible
TO_PG = connection(("127.0.0.1", 5432), ("127.0.0.1", 50001), DB, inode=1)
FROM_APP = connection(("127.0.0.1", 50001), ("127.0.0.1", 5432), WEB, inode=2)
OUTGOING = connection(("192.0.2.2", 50002), ("203.0.113.9", 443), WORKER, inode=3)
FOUND = Inventory(listeners=(APP, PG, DNS), connections=(TO_PG, FROM_APP, OUTGOING), notes=("hidden: pid 1",))

ROWS = {
    "by-port": (Selection(ports=frozenset({5432})), (PG,), (TO_PG, FROM_APP)),
    "by-ports": (Selection(ports=frozenset({3000, 5353})), (APP, DNS), ()),
    "by-pid-of-a-second-owner": (Selection(pids=frozenset({4101})), (APP,), (OUTGOING,)),
    "by-pid": (Selection(pids=frozenset({4200})), (PG,), (TO_PG,)),
    "by-name": (Selection(names=frozenset({"node"})), (APP,), (FROM_APP, OUTGOING)),
    "by-name-none": (Selection(names=frozenset({"nginx"})), (), ()),
    "exposed-only": (Selection(exposed_only=True), (APP, DNS), ()),
    "port-and-name": (Selection(ports=frozenset({5432}), names=frozenset({"node"})), (), (FROM_APP,)),
    "pid-and-name-disagree": (Selection(pids=frozenset({4200}), names=frozenset({"node"})), (), ()),
}


@pytest.mark.parametrize(("selection", "listeners", "connections"), ROWS.values(), ids=ROWS.keys())
def test_select(selection: Selection, listeners: tuple[object, ...], connections: tuple[object, ...]) -> None:
    kept = select(FOUND, selection)
    assert (kept.listeners, kept.connections) == (listeners, connections)
    assert kept.notes == FOUND.notes


def test_exposed_only_keeps_the_connections_of_exposed_listeners() -> None:
    served = FOUND._replace(connections=(*FOUND.connections, connection(("192.0.2.2", 3000), ("192.0.2.7", 40000),
                                                                        WEB, inode=4)))
    assert [c.inode for c in select(served, Selection(exposed_only=True)).connections] == [4]


def test_the_empty_selection_is_everything() -> None:
    assert select(FOUND, Selection()) is FOUND
