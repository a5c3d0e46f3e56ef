"""Bytes per listener from per-connection counters: deltas, first sightings, closes, and who gets them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
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
    "listed in another order": ([([flow(1, 10, 1), flow(2, 20, 2)], []), ([flow(3, 5, 0), flow(2, 20, 2), flow(1, 15, 1)],
                                                                          [])], Moved(3, 10, 0)),
    "one gone from the middle": ([([flow(1, 10, 1), flow(2, 20, 2), flow(3, 30, 3)], []),
                                  ([flow(1, 10, 1), flow(3, 31, 3)], [])], Moved(2, 1, 0)),
    "listed twice by one dump": ([([], []), ([flow(1, 500, 20), flow(1, 500, 20)], []), ([flow(1, 500, 20)], [])],
                                 Moved(1, 0, 0)),
    "missed by one dump": ([([flow(1, 500, 20)], []), ([], []), ([flow(1, 700, 20)], [])], Moved(1, 200, 0)),
    "its close notice a sample late": ([([flow(1, 500, 20)], []), ([], []),
                                        ([], [flow(1, 800, 21, state=ConnectionState.CLOSE)])], Moved(0, 300, 1)),
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
    meter.count([flow(2, 5, 5)], [flow(1, 6, 6, state=ConnectionState.CLOSE)])
    meter.count([flow(2, 5, 5)], [])
    assert meter.count([flow(2, 5, 5)], []) == {HERE: Moved(1, 0, 0)}
    assert meter.live == [flow(2, 5, 5)] and not meter.gone and meter.established == {HERE: 1}


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


def reference(samples: list[tuple[list[TcpFlow], list[TcpFlow]]]) -> list[dict[tuple[str, int], Moved]]:
    """The meter's figures computed the plain way: every flow looked up by cookie at every sample."""
    seen: dict[int, TcpFlow] = {}
    gone: dict[int, TcpFlow] = {}
    results = []
    for live, closed in samples:
        totals: dict[tuple[str, int], list[int]] = {}
        now = {item.cookie: item for item in live}
        for item in list(now.values()):
            sums = totals.setdefault((item.address, item.port), [0, 0, 0])
            sums[0] += item.state is OPEN
            last = seen.get(item.cookie) or gone.get(item.cookie)
            sums[1] += item.bytes_received - (last.bytes_received if last else 0)
            sums[2] += item.bytes_acked - (last.bytes_acked if last else 0)
        went = {cookie: item for cookie, item in seen.items() if cookie not in now}
        for item in closed:
            last = now.pop(item.cookie, None) or went.get(item.cookie) or gone.get(item.cookie)
            sums = totals.setdefault((item.address, item.port), [0, 0, 0])
            sums[1] += max(0, item.bytes_received - (last.bytes_received if last else 0))
            sums[2] += max(0, item.bytes_acked - (last.bytes_acked if last else 0))
        seen, gone = {item.cookie: item for item in live}, went
        results.append({where: Moved(*sums) for where, sums in totals.items() if any(sums)})
    return results


@st.composite
def samples(draw: st.DrawFn) -> list[tuple[list[TcpFlow], list[TcpFlow]]]:
    """Samples of a few connections on two endpoints: each sample some are new, some moved bytes or changed state,
    some went (with or without a close notice, sometimes a sample late), in a shuffled order."""
    flows: dict[int, TcpFlow] = {}
    used: set[int] = set()  # the kernel never reuses a cookie
    late: list[TcpFlow] = []
    found = []
    for _ in range(draw(st.integers(1, 6))):
        for cookie in draw(st.lists(st.integers(1, 12), max_size=4)):
            if cookie not in used:
                used.add(cookie)
                flows[cookie] = flow(cookie, draw(st.integers(0, 99)), 0, port=draw(st.sampled_from([8000, 8001])))
        for cookie in list(flows):
            item = flows[cookie]
            flows[cookie] = item._replace(bytes_received=item.bytes_received + draw(st.integers(0, 3)),
                                          bytes_acked=item.bytes_acked + draw(st.integers(0, 3)),
                                          state=draw(st.sampled_from([OPEN, OPEN, ConnectionState.CLOSE_WAIT])))
        closed, late, dumped = late, [], []
        for cookie in draw(st.lists(st.sampled_from(sorted(flows)), unique=True)) if flows else []:
            item = flows.pop(cookie)
            final = item._replace(bytes_received=item.bytes_received + 1, state=ConnectionState.CLOSE)
            (late if draw(st.booleans()) else closed).append(final)
            if final in closed and draw(st.booleans()):
                dumped.append(item)  # it closed after the dump
        live = draw(st.permutations([*flows.values(), *dumped]))
        if live and draw(st.booleans()):  # a dump that missed one (it moved in the kernel's table mid-dump)
            del live[draw(st.integers(0, len(live) - 1))]
        if live and draw(st.booleans()):  # the kernel resumed its dump after a new connection: one listed twice
            live.insert(draw(st.integers(0, len(live))), draw(st.sampled_from(live)))
        found.append((live, closed))
    return found


@given(samples())
def test_meter_agrees_with_a_lookup_per_connection(sequence: list[tuple[list[TcpFlow], list[TcpFlow]]]) -> None:
    meter = Meter()
    got = [{where: moved for where, moved in meter.count(live, closed).items() if any(moved)}
           for live, closed in sequence]
    assert got == reference(sequence)
