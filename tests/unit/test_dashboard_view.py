"""The dashboard's rows and HTML (portside.web.view, render): escaping, the filter, the cap, rates."""

from __future__ import annotations

import pytest

from portside.model import Exposure, Family, Lease, LeaseState, Listener, ProcessInfo, Protocol, Route, RouteKind
from portside.monitor.events import Event, EventKind, Traffic, key_of
from portside.web.render import fragments, page, rate
from portside.web.view import RunOutput, View, filtered, services_of

EVIL = "<script>alert(1)</script>"
OWNER = ProcessInfo(4242, EVIL, (EVIL,), "alice", 1000, 1, 5, 1.0)


def listener(port: int, address: str = "127.0.0.1", exposure: Exposure = Exposure.LOOPBACK,
             owners: tuple[ProcessInfo, ...] = (OWNER,)) -> Listener:
    return Listener(Protocol.TCP, Family.IPV4, address, port, False, exposure, (address,), owners, (1,))


def view(*listeners: Listener, **parts: object) -> View:
    base = {"traffic": {}, "routes": (), "services": (), "leases": (), "events": ()}
    base.update(parts)
    return View(listeners, **base)  # type: ignore[arg-type]


def test_everything_from_the_machine_is_escaped() -> None:
    run = Route(EVIL, 61000, RouteKind.RUN, 4000, 7, 1.0)
    alias = Route("db", 5432, RouteKind.ALIAS, None, None, 1.0)
    routed = ((run, "http://x.localhost/"), (alias, 'http://db.localhost/"><script>'))
    output = {(EVIL, 4000): RunOutput((EVIL,), (("stdout", EVIL), ("stderr", "<b>err</b>")))}
    lease = LeaseState(Lease(61000, Protocol.TCP, EVIL, 4000, 7, 1.0, None), True)
    event = Event(EventKind.NOTE, 1.0, None, note=EVIL)
    html = page(view(listener(8000), routes=routed, services=services_of(routed, output), leases=(lease,),
                     events=(event,), notes=(EVIL,)), query=EVIL)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '"><script>' not in html and "<b>err</b>" not in html
    assert html.count("<script") == 1  # the dashboard's own script tag alone


def test_buttons_only_where_the_action_applies() -> None:
    routed = ((Route("app", 61000, RouteKind.RUN, 4000, 7, 1.0), "u"), (Route("db", 5432, RouteKind.ALIAS, None,
                                                                             None, 1.0), "u"))
    parts = fragments(view(listener(8000), listener(8001, owners=()), routes=routed,
                           services=services_of(routed, {})))
    assert parts["listeners"].count('data-action="kill"') == 1  # not for a listener whose owner is hidden
    assert 'data-action="stop" data-name="app"' in parts["services"]
    assert parts["routes"].count('data-action="unalias"') == 1 and 'data-name="db"' in parts["routes"]


def test_filter_and_cap_put_exposed_listeners_first() -> None:
    items = [listener(port) for port in range(9000, 9010)] + [listener(9999, "0.0.0.0", Exposure.ALL)]
    shown, left_out = filtered(items, "", limit=3)
    assert [item.port for item in shown] == [9999, 9000, 9001] and left_out == 8
    assert [item.port for item in filtered(items, "9005")[0]] == [9005]
    assert [item.port for item in filtered(items, "4242")[0]] == [item.port for item in sorted(
        items, key=lambda item: (item.exposure is Exposure.LOOPBACK, item.port))]  # an owner's pid
    assert filtered(items, "all")[0] == (items[-1],)
    assert "8 more not shown" in fragments(view(*items, hidden=8), "")["listeners"]


def test_traffic_shows_in_the_row() -> None:
    item = listener(8000)
    html = fragments(view(item, traffic={key_of(item): Traffic(3, 2048, 0, 1.0)}))["listeners"]
    assert "<td>3</td><td>2.0 KB/s</td><td>0</td>" in html


@pytest.mark.parametrize(("figure", "text"), [(0, "0"), (0.5, "0"), (512, "512 B/s"), (1536, "1.5 KB/s"),
                                              (3 * 1024 * 1024, "3.0 MB/s"), (5 * 1024 ** 3, "5120.0 MB/s")])
def test_rate(figure: float, text: str) -> None:
    assert rate(figure) == text
