"""`kill`'s plan: which owners get a signal, and when it refuses. Pure; the signalling is tested in scenario/."""

from __future__ import annotations

import re

import pytest
from records import listener, process

from portside.errors import RefusedError, StillHeld
from portside.process.kill import plan

WEB, WORKER, OTHER = process(4100, "node"), process(4101, "node"), process(4200, "redis-server")
PROTECTED = frozenset({1, 900, 901})  # init, "this process" and its parent


@pytest.mark.parametrize(("listeners", "victims"), [
    ((listener("127.0.0.1", 3000, WEB),), (WEB,)),
    # fork or SO_REUSEPORT: one listener, two owners
    ((listener("127.0.0.1", 3000, WORKER, WEB),), (WEB, WORKER)),
    # both families on one port, the same owner: signalled once
    ((listener("127.0.0.1", 3000, WEB), listener("::1", 3000, WEB)), (WEB,)),
    ((listener("0.0.0.0", 3000, WEB), listener("::", 3000, OTHER)), (WEB, OTHER)),
], ids=["one-owner", "two-owners", "same-owner-twice", "two-listeners"])
def test_every_owner_once_in_pid_order(listeners, victims) -> None:  # type: ignore[no-untyped-def]
    made = plan(listeners, PROTECTED)
    assert made.victims == victims and made.listeners == listeners


@pytest.mark.parametrize(("owner", "named"), [
    (process(1, "systemd"), "pid 1 (systemd)"),
    (process(900, "python3"), "pid 900 (python3)"),
    (process(901, "bash"), "pid 901 (bash)"),
])
def test_init_itself_and_parents_are_refused(owner, named: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RefusedError, match=re.escape(f"refusing to signal {named}: it is init, portside itself")):
        plan((listener("127.0.0.1", 3000, WEB, owner),), PROTECTED)


def test_an_owner_it_cannot_see_is_still_held() -> None:
    hidden = listener("127.0.0.1", 3000, note="owner not visible (socket owned by user root)")
    with pytest.raises(StillHeld, match=re.escape("port 3000 is held by a process portside cannot see: owner not visible (socket")):
        plan((listener("::1", 3000, WEB), hidden), PROTECTED)
