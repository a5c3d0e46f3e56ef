"""Signal a process without ever hitting a stranger: pidfd first, then the identity check.

A pid can be reused between reading it and signalling it. Opening a pidfd pins the
process; if /proc then still shows the start time recorded when the process was seen,
the pidfd refers to that very process, and the signal goes through the pidfd.
Where there are no pidfds (macOS, Windows, Linux before 5.3) portside does not fall
back to bare pids: `require_pidfd` refuses in one line instead.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

from portside._typing import NamedTuple
from portside.errors import KillError, PlatformError
from portside.inventory import process_info
from portside.model import ProcessInfo

PIDFD_NEEDED = "portside signals only through pidfds, so kill, run and proxy stop need Linux 5.3 or later"


class Handle(NamedTuple):
    """An open pidfd for a process whose identity has been checked."""

    info: ProcessInfo
    pidfd: int


def require_pidfd() -> None:
    """Raise PlatformError unless this system can signal through pidfds (kill, run and proxy stop need them)."""
    if not hasattr(os, "pidfd_open") or not hasattr(signal, "pidfd_send_signal"):
        raise PlatformError(f"this platform ({sys.platform}) has no pidfds; {PIDFD_NEEDED}")
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError as error:
        raise PlatformError(f"pidfd_open fails here ({error.strerror}); {PIDFD_NEEDED}") from None


def open_checked(info: ProcessInfo) -> Handle | None:
    """A pidfd for `info`'s process, or None when it has exited or its pid was reused."""
    require_pidfd()
    try:
        pidfd = os.pidfd_open(info.pid)
    except ProcessLookupError:
        return None
    except OSError as error:
        raise KillError(f"cannot open pid {info.pid}: {error.strerror}") from error
    current = process_info(info.pid)
    if current is None or current.start_ticks != info.start_ticks:
        os.close(pidfd)
        return None
    return Handle(info, pidfd)


def send(handle: Handle, signum: int) -> bool:
    """Send `signum` through the pidfd; False when the process is already gone."""
    try:
        signal.pidfd_send_signal(handle.pidfd, signum)
    except ProcessLookupError:
        return False
    except PermissionError as error:
        raise KillError(f"not allowed to signal pid {handle.info.pid} ({handle.info.name}): {error.strerror}") from error
    return True


def wait_exited(handles: list[Handle], timeout: float) -> list[Handle]:
    """Wait up to `timeout` seconds for every process to exit; return those still alive."""
    poller = select.poll()
    alive = {h.pidfd: h for h in handles}
    for fd in alive:
        poller.register(fd, select.POLLIN)
    end = time.monotonic() + timeout
    while alive and (remaining_ms := int((end - time.monotonic()) * 1000)) > 0:
        for fd, _event in poller.poll(remaining_ms):
            poller.unregister(fd)
            alive.pop(fd, None)
    return list(alive.values())


def close(handles: list[Handle]) -> None:
    for handle in handles:
        os.close(handle.pidfd)


def end(handles: list[Handle], timeout: float, *, force: bool) -> tuple[list[tuple[ProcessInfo, str]], list[Handle]]:
    """SIGTERM to each, a wait of up to `timeout`, then (with `force`) SIGKILL to the survivors and another wait.

    What was sent to whom, in order, and the handles still alive at the end. The caller closes the handles.
    """
    sent = [(handle.info, "SIGTERM") for handle in handles if send(handle, signal.SIGTERM)]
    alive = wait_exited(handles, timeout)
    if alive and force:
        sent += [(handle.info, "SIGKILL") for handle in alive if send(handle, signal.SIGKILL)]
        alive = wait_exited(alive, timeout)
    return sent, alive
