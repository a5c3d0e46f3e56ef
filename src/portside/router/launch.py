"""Serve a command as NAME.localhost: lease its port, route the name, start the proxy and the command.

What `portside run` does, as a library call. The port comes from `pick`'s allocator (a
named lease: the same port next time while it is free) and the route NAME -> port is
written before the command starts, both owned by this process. The command gets PORT
and HOST=127.0.0.1, the flags of dev servers that ignore PORT (portflags.py), and SIGTERM
from the kernel if this process dies. Leaving the block stops the command (if the caller has
not), then removes the route and the lease. The command's last lines of output are kept in a
file the dashboard shows (process/output.py) while it runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from portside.errors import LeaseHeld, StateDirError, UsageError
from portside.leasing.allocate import pick, release
from portside.model import Lease, RouteKind
from portside.process.output import output_path
from portside.process.signals import require_pidfd
from portside.process.supervise import Service, start_service
from portside.router.control import start
from portside.router.portflags import with_port_flags
from portside.router.registry import add_route, remove_route


def _lease(name: str, replace: bool) -> Lease:
    try:
        (lease,) = pick(names=[name])
    except LeaseHeld:
        if not replace:
            raise
        (lease,) = pick()
    return lease


def _output(name: str, me: int) -> Path | None:
    """Where to keep the command's last lines; None (output passed through only) when the runs dir is unusable."""
    try:
        return output_path(name, me, make=True)
    except (OSError, StateDirError):
        return None


@contextmanager
def routed(name: str, command: Sequence[str], *, replace: bool = False, timeout: float = 60.0,
           https: bool = False) -> Iterator[tuple[str, Service]]:
    """The URL NAME is served at (https:// with `https`, making the local CA if need be) and the started command.

    The caller waits for the command or stops it.
    """
    require_pidfd()
    me = os.getpid()
    lease = _lease(name, replace)
    try:
        add_route(name, lease.port, kind=RouteKind.RUN, owner=me, replace=replace)
        try:
            proxy, _ = start(https=https)
            service = start_service(with_port_flags(command, lease.port), port=lease.port, timeout=timeout,
                                    die_with_parent=True, keep_output=_output(name, me))
            try:
                yield proxy.url(name, https), service
            finally:  # a no-op once the caller has stopped it; else (Ctrl-C before its handler) here, not later
                service.stop()
        finally:
            remove_route(name, owner=me)
    finally:
        with suppress(UsageError):
            release(lease.port, owner=me)
