"""The processes under a pid, and stopping them all: found through /proc's ppid links, signalled through checked pidfds.

A process that double-forks and calls setsid() leaves its group and its parent chain: the
kernel re-parents it to the nearest child subreaper above it (run's guard makes itself one),
else to init. Under a subreaper, then, the tree below it is everything its command started.
A listing is a moment's view and processes fork while being stopped, so `stop_tree` lists
again every round and signals the newcomers too; it keeps a pidfd on each process it
signalled, so one that leaves the tree meanwhile still gets its SIGKILL.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

from portside._poll import readable
from portside.errors import KillError
from portside.inventory import process_info, process_stats
from portside.model import ProcessInfo
from portside.process import signals

ROUND = 0.05


def descendants(root: int) -> list[ProcessInfo]:
    """Every live process under `root` (children, grandchildren, ...; zombies left out), nearest first."""
    stats = process_stats()
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        if stat.state != "Z":
            children.setdefault(stat.ppid, []).append(pid)
    found: list[ProcessInfo] = []
    frontier = [root]
    while frontier:
        for child in children.get(frontier.pop(0), ()):
            info = process_info(child)
            if info is not None and info.start_ticks == stats[child].start_ticks:
                found.append(info)
                frontier.append(child)
    return found


def _open(info: ProcessInfo) -> signals.Handle | None:
    """A pidfd on `info`'s process, or None when it is gone (or cannot be opened: then it cannot be signalled either)."""
    try:
        return signals.open_checked(info)
    except KillError:
        return None


def _send(handle: signals.Handle, signum: int) -> None:
    """`signum` through the pidfd; a process this user may not signal is left for the caller's check of the port."""
    try:
        signals.send(handle, signum)
    except KillError:
        pass


def _exited(handle: signals.Handle) -> bool:
    return readable(handle.pidfd, 0)


def stop_tree(root: int, grace: float, *, signum: int = signal.SIGTERM, with_root: bool = False,
              between: Callable[[], object] = lambda: None) -> list[ProcessInfo]:
    """`signum` to every process under `root` (and to `root` itself `with_root`), newcomers included, SIGKILL to
    what outlives `grace`; those that outlive another `grace` after that are returned.

    `root` must stay this caller's to name: itself, or a child it has not reaped. `between` runs
    before every listing (a subreaper reaps its orphans there, so that they do not linger as zombies).
    """
    handles: dict[tuple[int, int | None], signals.Handle] = {}
    killed: set[tuple[int, int | None]] = set()
    kill_at = time.monotonic() + grace
    give_up = kill_at + grace
    first = [info] if with_root and (info := process_info(root)) is not None else []
    try:
        while True:
            between()
            killing = time.monotonic() >= kill_at
            fresh = 0
            for info in [*first, *descendants(root)]:
                key = (info.pid, info.start_ticks)
                if key not in handles and (handle := _open(info)) is not None:
                    handles[key] = handle
                    _send(handle, signal.SIGKILL if killing else signum)
                    fresh += 1
                    if killing:
                        killed.add(key)
            first = []
            alive = {key: handle for key, handle in handles.items() if not _exited(handle)}
            if not alive and not fresh:
                return []
            if time.monotonic() >= give_up:
                return [handle.info for handle in alive.values()]
            for key, handle in alive.items():
                if killing and key not in killed:
                    _send(handle, signal.SIGKILL)
                    killed.add(key)
            signals.wait_exited(list(alive.values()), ROUND)
    finally:
        signals.close(list(handles.values()))
