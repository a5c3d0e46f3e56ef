"""The owner walk for inventories taken again and again (`watch`): remember each process's fds.

A full walk reads every fd link of every process: about 3 µs an fd, 70 ms a second on a
machine with 20,000 sockets — too dear once a second. The tracker keeps, per process, the
socket inode behind each fd name, and on later passes lists only the processes whose fd
count (the size of /proc/PID/fd, Linux 6.2+; processes are listed every pass on older
kernels) changed since, reading the links of new fd names alone. New processes are walked
whole. A wanted inode that no known fd holds (a new listener) sends the pass back to a full
walk, unless it was ownerless at the last full walk too (a socket of another PID namespace).

Full walks come every `full_every` seconds, or less often where a full walk is dear: never more
than FULL_SHARE of the time between them (a 70 ms walk: one every 35 s), so on a crowded machine
the scrub costs 0.2% of a core rather than the 0.7% a walk every 10 s would; and never more than
FULL_LONGEST apart, so one walk slowed by a stop (SIGSTOP, a paused machine) cannot put the next off.

What it can miss between full walks: a process that gains a
socket held elsewhere under an fd number it just freed while its fd count stays the same
(dup2 or SCM_RIGHTS into a reused slot), or loses one the same way, and a recycled pid
whose fds match its predecessor's names and count. Each is seen at the next full walk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection

from portside.inventory._owners import SOCKET_PREFIX, OwnerWalk, all_pids
from portside.inventory._procfs import PROC

FULL_EVERY = 10.0
FULL_SHARE = 0.002
FULL_LONGEST = 60.0


class Unreadable(Exception):
    """The fds of a process may not be read."""


def _links(pid: int, known: dict[str, int]) -> tuple[dict[str, int], int]:
    """fd name -> socket inode (0: not a socket) of `pid`, reading the links of names not in `known`
    only, and the number of fds listed (this process's own listing fd left out). Raises Unreadable,
    or OSError when the process is gone."""
    try:
        dir_fd = os.open(f"{PROC}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except PermissionError as error:
        raise Unreadable(pid) from error
    try:
        found: dict[str, int] = {}
        mine = str(dir_fd) if pid == os.getpid() else None
        for name in os.listdir(dir_fd):
            if name == mine:
                continue
            inode = known.get(name)
            if inode is None:
                try:
                    link = os.readlink(name, dir_fd=dir_fd)
                except PermissionError as error:
                    raise Unreadable(pid) from error
                except OSError:
                    continue  # closed mid-walk
                inode = int(link[8:-1]) if link[:8] == SOCKET_PREFIX else 0
            found[name] = inode
        return found, len(found)
    finally:
        os.close(dir_fd)


class OwnerTracker:
    """Holders of socket inodes across passes; `walk(wanted)` is one pass."""

    def __init__(self, full_every: float = FULL_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.full_every = full_every
        self.clock = clock
        self.links: dict[int, dict[str, int]] = {}
        self.counts: dict[int, int] = {}
        self.orphans: frozenset[int] = frozenset()
        self.next_full = 0.0
        self.held: tuple[Collection[int], dict[int, tuple[int, ...]]] | None = None  # the last holders, and asked of
        # Whether this kernel gives fd counts as the size of /proc/PID/fd (6.2+): this process always has fds open.
        self.sized = os.stat(f"{PROC}/self/fd").st_size > 0

    def walk(self, wanted: Collection[int]) -> OwnerWalk:
        """Who holds each of the `wanted` socket inodes now, and whose fds could not be read."""
        keep = wanted if isinstance(wanted, (set, frozenset)) else set(wanted)
        now = self.clock()
        full = now >= self.next_full
        unreadable = self._pass(full, keep)
        holders = self._holders(keep)
        if not full and any(inode not in holders and inode not in self.orphans for inode in keep):
            unreadable = self._pass(True, keep)
            holders = self._holders(keep)
            full = True
        if full:
            done = self.clock()
            self.next_full = done + min(max(self.full_every, (done - now) / FULL_SHARE), FULL_LONGEST)
            self.orphans = frozenset(inode for inode in keep if inode not in holders)
        return OwnerWalk(holders, tuple(unreadable))

    def _pass(self, full: bool, wanted: Collection[int]) -> list[int]:
        links: dict[int, dict[str, int]] = {}
        counts: dict[int, int] = {}
        unreadable: list[int] = []
        for pid in sorted(all_pids()):
            known = None if full else self.links.get(pid)
            try:
                if known is not None and self.sized and os.stat(f"{PROC}/{pid}/fd").st_size == self.counts[pid]:
                    found, count = known, self.counts[pid]
                else:
                    # Links that pointed to a wanted socket are read again: that fd may have been reused.
                    reuse = {name: inode for name, inode in (known or {}).items() if inode not in wanted}
                    found, count = _links(pid, reuse)
            except Unreadable:
                unreadable.append(pid)
                continue
            except OSError:
                continue  # exited
            links[pid] = found
            counts[pid] = count
        if full or links.keys() != self.links.keys() or any(found is not self.links[pid] for pid, found in links.items()):
            self.held = None
        self.links, self.counts = links, counts
        return unreadable

    def _holders(self, wanted: Collection[int]) -> dict[int, tuple[int, ...]]:
        """Who holds each of `wanted`; the last answer again when no process's fds were read anew since."""
        if self.held is not None and self.held[0] == wanted:
            return self.held[1]
        holders: dict[int, tuple[int, ...]] = {}
        for pid, fds in self.links.items():  # pids ascend, so each holder tuple is sorted
            for inode in fds.values():
                if inode in wanted:
                    pids = holders.get(inode)
                    if pids is None:
                        holders[inode] = (pid,)
                    elif pids[-1] != pid:
                        holders[inode] = (*pids, pid)
        self.held = (wanted, holders)
        return holders
