"""Bytes per listener from per-connection counters: deltas, first sightings, closes, and who gets them."""

from __future__ import annotations

import pytest
from records import listener

from portside.inventory.snapshot import TcpFlow
from portside.model import ConnectionState
from portside.monitor.events import Traffic, key_of
from portside.monitor.traffic import Meter, Moved, per_listener

OPEN = ConnectionState.ESTABLISHED


def flow(cookie: int, received: int, acked: int, port: int = 8000, address: str = "127.0.0.1",
         state: ConnectionState = OPEN) -> TcpFlow:
    return TcpFlow(cookie, state, address, port, received, acked)


HERE = ("127.0.0.1", 8000)

# Each case: samples of (live flows, closed flows) and what the last sample says moved on 127.0.0.1:8000.
CASES: dict[str, tuple[list[tuple[list[TcpFlow], list[TcpFlow]]], Moved]] = {
    "first sighting counts all": ([([flow(1, 500, 20)], [])], Moved(1, 500, 20)),
    "then only what moved since": ([([flow(1, 500, 20)], []), ([flow(1, 1500, 25)], [])], Moved(1, 1000, 5)),
    "idle": ([([flow(1, 500, 20)], []), ([flow(1, 500, 20)], [])], Moved(1, 0, 0)),
    "closed since: its last bytes": ([([flow(1, 500, 20)], []), ([], [flow(1, 800, 21, state=ConnectionState.CLOSE)])],
                                     Moved(0, 300, 1)),
    "born and closed between samples": ([([], []), ([], [flow(2, 4000, 3, state=ConnectionState.CLOSE)])],
                                        Moved(0, 4000, 3)),
    "closed after the dump: the rest only": (
        [([flow(1, 500, 20)], []), ([flow(1, 700, 20)], [flow(1, 900, 21, state=ConnectionState.CLOSE)])],
        Moved(1, 400, 1)),
    "closing states count bytes, not connections": (
        [([flow(1, 10, 0)], []), ([flow(1, 11, 0, state=ConnectionState.CLOSE_WAIT), flow(2, 5, 0)], [])],
        Moved(1, 6, 0)),
    "several connections add up": ([([flow(1, 10, 1), flow(2, 20, 2), flow(3, 30, 3)], [])], Moved(3, 60, 6)),
}


@pytest.mark.parametrize("name", CASES)
def test_meter(name: str) -> None:
    samples, expected = CASES[name]
    meter = Meter()
    moved: dict[tuple[str, int], Moved] = {}
    for live, closed in samples:
        moved = meter.count(live, closed)
    assert moved.get(HERE, Moved(0, 0, 0)) == expected


def test_meter_forgets_closed_connections() -> None:
    meter = Meter()
    meter.count([flow(1, 5, 5), flow(2, 5, 5)], [])
    meter.count([flow(2, 5, 5)], [flow(1, 6, 6)])
    assert set(meter.seen) == {2}


def test_endpoints_go_to_the_listener_that_accepts_them() -> None:
    local = listener("127.0.0.1", 8000)
    v6_wide = listener("::", 8000, dual_stack=True)
    udp = listener("127.0.0.1", 8000)._replace(protocol="udp")
    moved = {
        ("127.0.0.1", 8000): Moved(1, 100, 10),
        ("::ffff:127.0.0.2", 8000): Moved(1, 7, 0),  # IPv4 through the dual-stack wildcard
        ("::1", 8000): Moved(2, 50, 5),
        ("127.0.0.1", 9999): Moved(1, 1, 1),  # no listener: dropped
    }
    figures = per_listener((local, v6_wide, udp), moved, 2.0)
    assert figures == {key_of(local): Traffic(1, 100, 10, 2.0), key_of(v6_wide): Traffic(3, 57, 5, 2.0)}
    assert figures[key_of(local)].rate_in == 50.0 and figures[key_of(local)].rate_out == 5.0
    assert Traffic(0, 10, 0, 0.0).rate_in == 0.0
