"""End what holds a port: the listening owners only, safely, and report what happened.

`kill` is the whole flow behind `portside kill` and `portside.kill`. `plan` is pure: it
gathers the owners of the matching listeners and refuses pid 1, the caller itself and its
ancestors — and a container's stand-in (docker-proxy, conmon, rootlessport, or dockerd
holding a published port): signalling
it breaks the engine and leaves the container running, so a container's port is freed
by stopping the container through its engine's API, and only when asked (`containers`).
`terminate` does the I/O: SIGTERM through checked pidfds, a bounded wait, SIGKILL only
when forced, and a final look at whether the port is really free.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from portside._typing import NamedTuple
from portside.containers.describe import engine_command, label
from portside.containers.names import is_proxy
from portside.errors import ContainerHeld, RefusedError, StillHeld, UsageError
from portside.inventory import ancestry, inventory, process_info
from portside.inventory.match import matching
from portside.model import Container, KillReport, Listener, ProcessInfo
from portside.net.resolve import aim
from portside.process import signals


class KillPlan(NamedTuple):
    listeners: tuple[Listener, ...]
    victims: tuple[ProcessInfo, ...]
    containers: tuple[Container, ...] = ()


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


def _held_for_container(listener: Listener) -> ContainerHeld:
    stand_ins = ", ".join(f"{p.name} (pid {p.pid})" for p in listener.processes if is_proxy(p) or listener.container)
    container = listener.container
    held = f"held by {stand_ins}, " if stand_ins else "forwarded by a DNAT rule, "
    if container is None:
        return ContainerHeld(
            f"port {listener.port} is {held}a container engine's stand-in for a published port; signalling it would "
            f"break the engine, not stop the container: find the container with `docker ps` or `podman ps`"
        )
    return ContainerHeld(
        f"port {listener.port} is published by {label(container)}, {held}which portside does not signal (it would "
        f"break the engine, not stop the container): stop the container with {engine_command(container, 'stop')}, "
        "or rerun with --container"
    )


def plan(listeners: tuple[Listener, ...], protected: frozenset[int], containers: bool = False) -> KillPlan:
    """The owners to signal and, with `containers`, the containers to stop.

    Raises ContainerHeld for a container's port without `containers` (or a container it cannot name),
    RefusedError when an owner must not be touched, and StillHeld when a listener's owner cannot be seen
    (it could never be freed)."""
    stopping: dict[str, Container] = {}
    plain = []
    for listener in listeners:
        container = listener.container
        if container is None and not any(is_proxy(p) for p in listener.processes):
            plain.append(listener)
        elif not containers or container is None or container.id is None:
            raise _held_for_container(listener)
        else:
            stopping.setdefault(container.id, container)
    hidden = [item for item in plain if not item.processes]
    if hidden:
        raise StillHeld(f"port {hidden[0].port} is held by a process portside cannot see: {hidden[0].note}")
    victims: dict[int, ProcessInfo] = {}
    for listener in plain:
        for info in listener.processes:
            victims.setdefault(info.pid, info)
    refused = sorted(pid for pid in victims if pid in protected)
    if refused:
        shown = ", ".join(f"pid {pid} ({victims[pid].name})" for pid in refused)
        raise RefusedError(
            f"refusing to signal {shown}: it is init, portside itself or one of its parents"
        )
    return KillPlan(listeners=listeners, victims=tuple(victims[pid] for pid in sorted(victims)),
                    containers=tuple(stopping.values()))


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
    try:
        signalled, alive = signals.end(handles, timeout, force=force)
        survivors = tuple(handle.info for handle in alive)
    finally:
        signals.close(handles)
    return KillResult(
        signalled=tuple(signalled), survivors=survivors, vanished=tuple(vanished), freed=not still_held()
    )


def _stop_containers(kill_plan: KillPlan, still_held: Callable[[], bool], timeout: float) -> None:
    """Stop each container through its engine's API, then wait up to `timeout` for the engine to let go of the port."""
    from portside.containers import stop_container

    for container in kill_plan.containers:
        stop_container(container, timeout)
    deadline = time.monotonic() + timeout
    while still_held() and time.monotonic() < deadline:
        time.sleep(0.05)


def kill(
    target: int | str,
    *,
    timeout: float = 5.0,
    force: bool = False,
    dry_run: bool = False,
    confirm: Callable[[tuple[ProcessInfo, ...]], bool] | None = None,
    containers: bool = False,
    backend: str | None = None,
) -> KillReport:
    """SIGTERM every process listening on `target` (never its clients); SIGKILL after `timeout` only with `force`.

    A container's port is freed only with `containers`: the container is stopped through its engine's API
    (within `timeout`, then killed by the engine); its stand-in is never signalled. `confirm`, when given, sees
    the victims first and may decline (nothing is signalled). The report says whether the port is free
    afterwards; RefusedError for pid 1, this process or its parents, StillHeld for an owner portside cannot see,
    ContainerHeld for a container's port without `containers`, EngineError when its engine cannot stop it.
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
    try:
        kill_plan = plan(listeners, protected_pids(), containers)
    except ContainerHeld as error:
        behind = tuple(dict.fromkeys(item.container for item in listeners if item.container is not None))
        raise ContainerHeld(str(error), report._replace(containers=behind)) from None
    report = report._replace(victims=kill_plan.victims, containers=kill_plan.containers)
    if dry_run:
        return report
    if confirm is not None and kill_plan.victims and not confirm(kill_plan.victims):
        return report._replace(declined=True)
    if kill_plan.containers:
        _stop_containers(kill_plan, lambda: any(item.container is not None for item in held()), timeout)
    result = terminate(kill_plan, lambda: bool(held()), timeout, force)
    return report._replace(signalled=result.signalled, survivors=result.survivors, vanished=result.vanished,
                           freed=result.freed)
