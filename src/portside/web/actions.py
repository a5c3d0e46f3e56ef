"""What the dashboard's buttons do, with the same rules as the verbs that do it from the shell.

- stop: SIGTERM (through a checked pidfd) to the `portside run` process that owns a run route;
  run then stops its command and all it started, and removes the route and lease (as Ctrl-C does).
- unalias: remove an alias route (`alias NAME --remove`); a run route is not an alias.
- kill: `portside.kill(PORT)`, exactly `kill`'s rules (never a container's stand-in; never pid 1,
  the proxy itself or its parents; SIGTERM only, no SIGKILL).
- release: end the lease on a port (`release PORT`).

Each returns the message shown on the page; a PortsideError's text is the refusal.
"""

from __future__ import annotations

from portside.errors import UsageError
from portside.inventory import process_info
from portside.leasing.allocate import release
from portside.leasing.store import Store
from portside.model import RouteKind
from portside.process import signals
from portside.router.registry import remove_route, routes

STOP_WAIT = 15.0  # run's stop: the guard's SIGTERM, its grace, then SIGKILL


def _route(name: str, store: Store, kind: RouteKind) -> tuple[int, int]:
    for route in routes(store):
        if route.name == name and route.kind is kind:
            if route.owner_pid is None or route.owner_start is None:
                break
            return route.owner_pid, route.owner_start
    raise UsageError(f"no {kind.value} service named {name}")


def stop_run(name: str, store: Store) -> str:
    """Stop the run service `name`; the message once its `portside run` has exited (or was told to)."""
    pid, start = _route(name, store, RouteKind.RUN)
    info = process_info(pid)
    handle = signals.open_checked(info) if info is not None and info.start_ticks == start else None
    if handle is None:
        return f"{name} had already stopped"
    try:
        _, alive = signals.end([handle], STOP_WAIT, force=False)
    finally:
        signals.close([handle])
    return f"asked {name} (run pid {pid}) to stop; it is still stopping" if alive else f"stopped {name} (run pid {pid})"


def remove_alias(name: str, store: Store) -> str:
    if not any(route.name == name and route.kind is RouteKind.ALIAS for route in routes(store)):
        raise UsageError(f"no alias named {name}")
    remove_route(name, store=store)
    return f"removed the alias {name}"


def kill_port(port: int) -> str:
    import portside

    report = portside.kill(port)
    signalled = ", ".join(f"pid {info.pid} ({info.name})" for info, _ in report.signalled)
    if report.freed:
        return f"port {port} is free" + (f": sent SIGTERM to {signalled}" if signalled else "")
    return f"port {port} is still held" + (f" (sent SIGTERM to {signalled})" if signalled else "")


def release_lease(port: int, store: Store) -> str:
    release(port, store=store)
    return f"released the lease on port {port}"
