"""A guard between `portside run` and its command: when run dies, even by SIGKILL, the command's whole group goes.

The kernel's parent-death signal reaches only a direct child, and wrappers such as
`npx` or `sh -c` do not pass SIGTERM on to what they started: their grandchildren would
outlive run and keep the port. So run starts this guard (with the parent-death signal
set), the guard leads a process group and starts the command inside it, and on SIGTERM,
SIGINT or SIGHUP it signals the whole group, waits, and SIGKILLs what is left. The guard
is the command's parent and reaps it last, so the group id cannot be reused meanwhile.
It exits with the command's status. Usage: python -m portside.process.guard PARENT_PID -- CMD...
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

GRACE = 5.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _group_members(group: int) -> list[int]:
    """Pids in process group `group` other than this process (read from /proc/PID/stat)."""
    from portside.inventory import process_stats  # only when stopping: the guard starts lean

    me = os.getpid()
    return [pid for pid, stat in process_stats().items() if stat.pgrp == group and pid != me]


def _stop_group(command: subprocess.Popen[bytes], signum: int) -> None:
    """Pass `signum` to the group, wait up to GRACE for it to empty, then SIGKILL the rest."""
    group = os.getpgrp()
    os.killpg(group, signum)
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline and _group_members(group):
        command.poll()
        time.sleep(0.05)
    for pid in _group_members(group):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _exit_like(status: int) -> None:
    """Exit as the command did: the same code, or death by the same signal."""
    if status < 0:
        signal.signal(-status, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {-status})
        os.kill(os.getpid(), -status)
    sys.exit(status)


def main(argv: list[str]) -> None:
    parent, separator, *command = argv
    if separator != "--" or not command:
        sys.exit("usage: python -m portside.process.guard PARENT_PID -- CMD...")
    watched = {*STOP_SIGNALS, signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    try:
        process = subprocess.Popen(command, preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_SETMASK, set()))  # noqa: PLW1509
    except OSError as error:
        sys.exit(f"cannot start {command[0]!r}: {error.strerror}")
    stop: int | None = signal.SIGTERM.value if os.getppid() != int(parent) else None
    while stop is None and process.poll() is None:
        caught = signal.sigwaitinfo(watched).si_signo
        stop = caught if caught != signal.SIGCHLD else None
    if stop is not None:
        _stop_group(process, stop)
    status = process.wait()
    if _group_members(os.getpgrp()):
        _stop_group(process, signal.SIGTERM)
    _exit_like(status)


if __name__ == "__main__":
    main(sys.argv[1:])
