"""The event core: successive listener lists in, events out (a table of before/after cases)."""

from __future__ import annotations

import pytest
from records import listener, process

from portside.model import Exposure, Listener, Protocol
from portside.monitor.events import Event, EventKind, diff, exposed

T = 1_800_000_000.0
WEB = process(4242, "python3")
WEB_AGAIN = WEB._replace(start_ticks=WEB.start_ticks + 1)  # the same pid, recycled
WORKER = process(4243, "python3")
NGINX = process(80, "nginx")
LOCAL = listener("127.0.0.1", 8000, WEB)
WIDE = listener("0.0.0.0", 8000, WEB)
V6 = listener("::1", 8000, WEB)
V6_WIDE = listener("::", 8000, WEB, dual_stack=True)
UDP = listener("127.0.0.1", 8000, WEB, protocol=Protocol.UDP)
OTHER = listener("127.0.0.1", 9000, NGINX)


def kinds(events: tuple[Event, ...]) -> list[tuple[str, str | None, str | None]]:
    return [(event.kind.value, event.listener and event.listener.address,
             event.before.address if event.before else None) for event in events]


CASES: dict[str, tuple[tuple[Listener, ...], tuple[Listener, ...], list[tuple[str, str | None, str | None]]]] = {
    "nothing changes": ((LOCAL, OTHER), (LOCAL, OTHER), []),
    "a new listener": ((OTHER,), (LOCAL, OTHER), [("opened", "127.0.0.1", None)]),
    "a listener goes": ((LOCAL, OTHER), (OTHER,), [("closed", "127.0.0.1", None)]),
    "a second owner (fork)": ((LOCAL,), (LOCAL._replace(processes=(WEB, WORKER)),),
                              [("owner-changed", "127.0.0.1", "127.0.0.1")]),
    "a recycled pid is another owner": ((LOCAL,), (LOCAL._replace(processes=(WEB_AGAIN,)),),
                                        [("owner-changed", "127.0.0.1", "127.0.0.1")]),
    "a renamed owner is the same owner": ((LOCAL,), (LOCAL._replace(processes=(WEB._replace(name="gunicorn"),)),),
                                          []),
    "a wildcard reaches a new interface": ((WIDE,), (WIDE._replace(reachable_on=("0.0.0.0", "192.0.2.7")),),
                                           [("exposure-changed", "0.0.0.0", "0.0.0.0")]),
    "restarted on every address": ((LOCAL,), (WIDE,), [("exposure-changed", "0.0.0.0", "127.0.0.1")]),
    "restarted wide by another process": ((LOCAL,), (WIDE._replace(processes=(NGINX,)),),
                                          [("exposure-changed", "0.0.0.0", "127.0.0.1"),
                                           ("owner-changed", "0.0.0.0", "127.0.0.1")]),
    "both families widen, each within its family": (
        (LOCAL, V6), (WIDE, V6_WIDE),
        [("exposure-changed", "0.0.0.0", "127.0.0.1"), ("exposure-changed", "::", "::1")]),
    "a family change pairs across families": ((LOCAL,), (V6_WIDE,), [("exposure-changed", "::", "127.0.0.1")]),
    "one of two goes, nothing comes": ((LOCAL, V6), (V6,), [("closed", "127.0.0.1", None)]),
    "another port is no rebind": ((LOCAL,), (OTHER,), [("closed", "127.0.0.1", None), ("opened", "127.0.0.1", None)]),
    "another protocol is no rebind": ((LOCAL,), (UDP,), [("closed", "127.0.0.1", None),
                                                         ("opened", "127.0.0.1", None)]),
    "ordered by port": ((OTHER,), (listener("127.0.0.1", 7000, NGINX), LOCAL),
                        [("opened", "127.0.0.1", None), ("opened", "127.0.0.1", None),
                         ("closed", "127.0.0.1", None)]),
}


@pytest.mark.parametrize("name", CASES)
def test_diff(name: str) -> None:
    before, after, expected = CASES[name]
    events = diff(before, after, T)
    assert kinds(events) == expected
    assert all(event.time == T for event in events)


def test_events_carry_listener_and_processes() -> None:
    (opened,) = diff((), (LOCAL,), T)
    assert opened.listener == LOCAL and opened.before is None and opened.listener.processes == (WEB,)
    (closed,) = diff((LOCAL,), (), T)
    assert closed.kind is EventKind.CLOSED and closed.listener == LOCAL
    (changed,) = diff((LOCAL,), (LOCAL._replace(processes=(WORKER,)),), T)
    assert changed.before == LOCAL and changed.listener is not None and changed.listener.processes == (WORKER,)


def test_ordered_by_port_then_kind() -> None:
    events = diff((OTHER, LOCAL), (listener("127.0.0.1", 7000), WIDE._replace(processes=(NGINX,))), T)
    assert [(e.listener.port if e.listener else 0, e.kind.value) for e in events] == [
        (7000, "opened"), (8000, "exposure-changed"), (8000, "owner-changed"), (9000, "closed")]


def test_exposed_looks_before_and_after() -> None:
    (widened,) = diff((LOCAL,), (WIDE,), T)[:1]
    (narrowed,) = diff((WIDE,), (LOCAL,), T)[:1]
    (local,) = diff((), (LOCAL,), T)
    assert exposed(widened) and exposed(narrowed) and not exposed(local)
    assert WIDE.exposure is Exposure.ALL
