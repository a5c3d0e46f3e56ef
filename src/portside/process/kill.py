"""End what holds a port: the listening owners only, safely, and report what happened.

`kill` is the whole flow behind `portside kill` and `portside.kill`. `plan` is pure: it
gathers the owners of the matching listeners and refuses pid 1, the caller itself and its
ancestors. `terminate` does the I/O: SIGTERM through checked pidfds, a bounded wait,
SIGKILL only when forced, and a final look at whether the port is really free.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import NamedTuple

from portside.errors import RefusedError, StillHeld, UsageError
from portside.inventory import ancestry, inventory, process_info
from portside.inventory.match import matching
from portside.model import KillReport, Listener, ProcessInfo
from portside.net.resolve import aim
from portside.process import signals


class KillPlan(NamedTuple):
    listeners: tuple[Listener, ...]
    victims: tuple[ProcessInfo, ...]


class KillResult(NamedTuple):
    signalled: tuple[tuple[ProcessInfo, str], ...]
    survivors: tuple[ProcessInfo, ...]
    vanished: tuple[ProcessInfo, ...]
    freed: bool


def protected_pids() -> frozenset[int]:
    """pid 1, this process and every ancestor of it: never signalled."""
    me = os.getpid()
    info = process_info(me)
    return frozenset({1, me, *(parent.pid for parent in (ancestry(info) if info else ()))})


def plan(listeners: tuple[Listener, ...], protected: frozenset[int]) -> KillPlan:
    """The owners to signal; raises RefusedError when one of them must not be touched,
    and StillHeld when a listener's owner cannot be seen (it could never be freed)."""
    hidden = [item for item in listeners if not item.processes]
    if hidden:
        raise StillHeld(f"port {hidden[0].port} is held by a process portside cannot see: {hidden[0].note}")
    victims: dict[int, ProcessInfo] = {}
    for listener in listeners:
        for info in listener.processes:
            victims.setdefault(info.pid, info)
    refused = sorted(pid for pid in victims if pid in protected)
    if refused:
        shown = ", ".join(f"pid {pid} ({victims[pid].name})" for pid in refused)
        raise RefusedError(
            f"refusing to signal {shown}: it is init, portside itself or one of its parents"
        )
    return KillPlan(listeners=listeners, victims=tuple(victims[pid] for pid in sorted(victims)))


def terminate(
    kill_plan: KillPlan, still_held: Callable[[], bool], timeout: float = 5.0, force: bool = False
) -> KillResult:
    """SIGTERM every victim, wait, SIGKILL survivors only when `force`; check the port."""
    handles = []
    vanished = []
    for info in kill_plan.victims:
        handle = signals.open_checked(info)
        if handle is None:
            vanished.append(info)
        else:
            handles.append(handle)
    signalled: list[tuple[ProcessInfo, str]] = []
    try:
        for handle in handles:
            if signals.send(handle, signal.SIGTERM):
                signalled.append((handle.info, "SIGTERM"))
        alive = signals.wait_exited(handles, timeout)
        if alive and force:
            for handle in alive:
                if signals.send(handle, signal.SIGKILL):
                    signalled.append((handle.info, "SIGKILL"))
            alive = signals.wait_exited(alive, timeout)
        survivors = tuple(handle.info for handle in alive)
    finally:
        signals.close(handles)
    return KillResult(
        signalled=tuple(signalled), survivors=survivors, vanished=tuple(vanished), freed=not still_held()
    )


def kill(
    target: int | str,
    *,
    timeout: float = 5.0,
    force: bool = False,
    dry_run: bool = False,
    confirm: Callable[[tuple[ProcessInfo, ...]], bool] | None = None,
    backend: str | None = None,
) -> KillReport:
    """SIGTERM every process listening on `target` (never its clients); SIGKILL after `timeout` only with `force`.

    `confirm`, when given, sees the victims first and may decline (nothing is signalled). The report says
    whether the port is free afterwards; RefusedError for pid 1, this process or its parents, StillHeld for an
    owner portside cannot see.
    """
    if not timeout >= 0:
        raise UsageError(f"timeout must be zero or more seconds, not {timeout}")
    parsed, addresses = aim(target)

    def held() -> tuple[Listener, ...]:
        return matching(inventory(backend=backend).listeners, parsed.port, addresses)

    report = KillReport(target=str(target), port=parsed.port, victims=(), signalled=(), survivors=(), vanished=(),
                        freed=False, dry_run=dry_run)
    listeners = held()
    if not listeners:
        return report._replace(freed=True)
    kill_plan = plan(listeners, protected_pids())
    report = report._replace(victims=kill_plan.victims)
    if dry_run:
        return report
    if confirm is not None and not confirm(kill_plan.victims):
        return report._replace(declined=True)
    result = terminate(kill_plan, lambda: bool(held()), timeout, force)
    return report._replace(signalled=result.signalled, survivors=result.survivors, vanished=result.vanished,
                           freed=result.freed)
