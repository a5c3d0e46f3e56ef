"""A guard between `portside run` and its command: when run stops or dies, everything the command started goes.

The kernel's parent-death signal reaches only a direct child, wrappers such as `npx` or
`sh -c` do not pass SIGTERM on, and a daemon that forks twice and calls setsid() leaves
both the process group and the parent chain. So run starts this guard (with the
parent-death signal set), and the guard makes itself a child subreaper: orphans anywhere
below it are re-parented to it, not to init, so the processes under it are all the command
started, in whatever group or session. It reaps those orphans, and on SIGTERM, SIGINT or
SIGHUP it stops every process under it (tree.py: checked pidfds, SIGKILL after GRACE).

When the command exits with nothing left under the guard, the guard exits as it did. When
processes are still alive SETTLE seconds later (the command daemonised), the guard writes
one line to REPORT_FD, the command's status and their pids, and keeps them until it is
stopped, so that run can say what was left behind before they go.

Why not a cgroup: it needs a delegated, writable cgroup v2 subtree (root, or systemd's
delegation), which a developer's shell or a container often lacks; a subreaper needs nothing
and holds every descendant. Usage: python -m portside.process.guard PARENT_PID REPORT_FD -- CMD...
"""

from __future__ import annotations

import os
import signal
import sys
import time

GRACE = 5.0
SETTLE = 0.5
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
WATCHED = {*STOP_SIGNALS, signal.SIGCHLD}
PR_SET_CHILD_SUBREAPER = 36
USAGE = "usage: python -m portside.process.guard PARENT_PID REPORT_FD -- CMD..."


def _become_subreaper() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"portside guard: cannot become a child subreaper: {os.strerror(ctypes.get_errno())}")


def _reap() -> dict[int, int]:
    """Reap every child that has exited (the command, or an orphan re-parented here): pid -> status, Popen-style."""
    reaped: dict[int, int] = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped[pid] = os.waitstatus_to_exitcode(status)


def _below() -> list[int]:
    """The pids alive under the guard (only read when the command has exited or is being stopped)."""
    from portside.process.tree import descendants

    return [info.pid for info in descendants(os.getpid())]


def _stop_all(signum: int) -> dict[int, int]:
    """`signum` to everything under the guard, SIGKILL after GRACE; every child reaped meanwhile, with its status."""
    from portside.process.tree import stop_tree

    reaped: dict[int, int] = {}
    stop_tree(os.getpid(), GRACE, signum=signum, between=lambda: reaped.update(_reap()))
    reaped.update(_reap())
    return reaped


def _next(deadline: float | None) -> int | None:
    """The next watched signal, or None once `deadline` (monotonic; None: no limit) has passed."""
    if deadline is None:
        return signal.sigwaitinfo(WATCHED).si_signo
    caught = signal.sigtimedwait(WATCHED, max(0.0, deadline - time.monotonic()))
    return None if caught is None else caught.si_signo


def _report(fd: int, status: int, left: list[int]) -> None:
    """Tell run what the command left alive when it exited; run may be gone (then the parent-death signal is pending)."""
    try:
        os.write(fd, " ".join(map(str, [status, *left])).encode() + b"\n")
    except OSError:
        pass


def _after_exit(report_fd: int, status: int) -> int | None:
    """After the command's exit: wait for what it left to go; report what stays past SETTLE (it daemonised) and
    keep it until a stop signal arrives. The signal, or None once nothing is left."""
    left = _below()
    settle: float | None = time.monotonic() + SETTLE  # its children may be exiting with it: give them a moment
    while left:
        caught = _next(settle)
        if caught is None:
            _report(report_fd, status, left)
            settle = None
        elif caught == signal.SIGCHLD:
            _reap()
            left = _below()
        else:
            return caught
    return None


def _exit_like(status: int) -> None:
    """Exit as the command did: the same code, or death by the same signal."""
    if status < 0:
        signal.signal(-status, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {-status})
        os.kill(os.getpid(), -status)
    sys.exit(status)


def main(argv: list[str]) -> None:
    try:
        parent, report, separator, *command = argv
        parent_pid, report_fd = int(parent), int(report)
    except ValueError:
        sys.exit(USAGE)
    if separator != "--" or not command:
        sys.exit(USAGE)
    _become_subreaper()
    signal.pthread_sigmask(signal.SIG_BLOCK, WATCHED)
    os.set_inheritable(report_fd, False)
    try:
        # Python ignores SIGPIPE and SIGXFSZ; the command gets the defaults back, and no blocked signals.
        child = os.posix_spawnp(command[0], command, os.environ, setsigmask=(),
                                setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
    except OSError as error:
        sys.exit(f"cannot start {command[0]!r}: {error.strerror}")
    stop: int | None = signal.SIGTERM.value if os.getppid() != parent_pid else None
    status: int | None = None
    while stop is None and status is None:
        caught = _next(None)
        if caught == signal.SIGCHLD:
            status = _reap().get(child)
        else:
            stop = caught
    if status is not None:
        stop = _after_exit(report_fd, status)
    if stop is not None:
        status = _stop_all(stop).get(child, status)
    _exit_like(1 if status is None else status)


if __name__ == "__main__":
    main(sys.argv[1:])
