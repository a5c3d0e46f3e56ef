"""The owner walk: which processes hold which socket inodes, found through /proc/*/fd.

It is the slow part of any socket inventory — every fd of every process is a
readlink — and nearly all kernel time, so threads only fight over the GIL. Instead a
forked child shares the work: the pids go into a pipe as 4-byte records, and the child
and this process each take records until the pipe is empty, so neither waits for the
other however unevenly fds are spread. The walk starts before the socket table is
read (`start`) and this process joins it afterwards (`PendingWalk.finish`), so the two
cores overlap the walk with the netlink dump. The child, not yet knowing which inodes
matter, reports every socket it saw. Forking happens only in a single-threaded
process, with two or more cores and enough fds to pay for it; otherwise one process
walks everything in `finish`. Processes that exit mid-walk are skipped; those whose
fds may not be read are reported, never silently dropped.
"""

from __future__ import annotations

import fcntl
import marshal
import os
from collections.abc import Callable, Collection, Iterator

from portside._typing import NamedTuple
from portside.inventory._procfs import PROC, parse_stat

SOCKET_PREFIX = "socket:["
RECORD = 4  # bytes per pid in the work pipe
BATCH = 4 * RECORD  # records taken per read; a pipe read never splits a record
FORK_MIN_FDS = 4000  # below this a fork costs more than it saves
MAX_PIPE_SIZE = 1 << 20


class OwnerWalk(NamedTuple):
    """Holders per socket inode, and the pids whose fds could not be read."""

    holders: dict[int, tuple[int, ...]]
    unreadable: tuple[int, ...]


Walked = tuple[dict[int, tuple[int, ...]], list[int]]


def all_pids() -> list[int]:
    """Every process id visible in /proc (thread-group leaders only)."""
    return [int(name) for name in os.listdir(PROC) if name.isdigit()]


def _fd_counts(pids: list[int]) -> dict[int, int]:
    """Open-fd count per pid: the size /proc/PID/fd reports (Linux 6.2+; 0 before)."""
    counts = {}
    for pid in pids:
        try:
            counts[pid] = os.stat(f"{PROC}/{pid}/fd").st_size
        except OSError:
            counts[pid] = 0
    return counts


def walk_pids(pids: Iterator[int] | list[int], keep: Callable[[int], bool] | None) -> Walked:
    """Walk the fds of `pids`; record holders of the socket inodes `keep` accepts (all when None)."""
    holders: dict[int, tuple[int, ...]] = {}
    unreadable: list[int] = []
    readlink = os.readlink
    for pid in pids:
        try:
            dir_fd = os.open(f"{PROC}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except PermissionError:
            unreadable.append(pid)
            continue
        except OSError:
            continue  # exited
        try:
            for name in os.listdir(dir_fd):
                try:
                    link = readlink(name, dir_fd=dir_fd)
                except PermissionError:
                    unreadable.append(pid)
                    break
                except OSError:
                    continue  # fd closed mid-walk
                if link[:8] == SOCKET_PREFIX:
                    inode = int(link[8:-1])
                    if keep is None or keep(inode):
                        pids_of = holders.get(inode)
                        if pids_of is None:
                            holders[inode] = (pid,)
                        elif pid not in pids_of:  # shared sockets are few: keep pids sorted
                            holders[inode] = tuple(sorted((*pids_of, pid)))
        except PermissionError:
            unreadable.append(pid)
        except OSError:
            pass  # exited mid-walk
        finally:
            os.close(dir_fd)
    return holders, unreadable


def _queued(read_fd: int) -> Iterator[int]:
    """Take pids from the shared work pipe until it is empty."""
    while True:
        batch = os.read(read_fd, BATCH)
        if not batch:
            return
        for start in range(0, len(batch), RECORD):
            yield int.from_bytes(batch[start : start + RECORD], "little")


def _single_threaded() -> bool:
    """True when this process runs one thread, so forking it is safe."""
    try:
        with open(f"{PROC}/self/stat", "rb") as stat:
            return parse_stat(stat.read()).threads == 1
    except (OSError, ValueError):
        return False


class PendingWalk:
    """A walk under way in a forked child (or not yet started); `finish` completes it."""

    def __init__(self, pids: list[int], queue_fd: int | None, child: int | None, result_fd: int | None) -> None:
        self.pids = pids
        self.queue_fd = queue_fd
        self.child = child
        self.result_fd = result_fd

    def finish(self, wanted: Collection[int]) -> OwnerWalk:
        """Walk what is left here, merge the child's part, keep only `wanted` inodes."""
        keep = (wanted if isinstance(wanted, (set, frozenset)) else set(wanted)).__contains__
        if self.queue_fd is None:
            holders, unreadable = walk_pids(self.pids, keep)
            return OwnerWalk(holders, tuple(sorted(unreadable)))
        holders, unreadable = walk_pids(_queued(self.queue_fd), keep)
        os.close(self.queue_fd)
        theirs = self._collect()
        if theirs is None:  # the child failed: walk everything here, as without a fork
            holders, unreadable = walk_pids(self.pids, keep)
            return OwnerWalk(holders, tuple(sorted(unreadable)))
        their_holders, their_unreadable = theirs
        for inode, pids_of in their_holders.items():
            if keep(inode):
                mine = holders.get(inode)
                holders[inode] = pids_of if mine is None else tuple(sorted((*mine, *pids_of)))
        unreadable.extend(their_unreadable)
        return OwnerWalk(holders, tuple(sorted(unreadable)))

    def _collect(self) -> Walked | None:
        assert self.result_fd is not None and self.child is not None
        with open(self.result_fd, "rb", closefd=True) as pipe:
            payload = pipe.read()
        os.waitpid(self.child, 0)
        try:
            holders, unreadable = marshal.loads(payload)
        except (EOFError, ValueError, TypeError):
            return None
        return holders, unreadable


def start(parallel: bool = True) -> PendingWalk:
    """Begin the owner walk; call `finish(wanted_inodes)` on the result once they are known."""
    pids = all_pids()
    if not (parallel and (os.cpu_count() or 1) > 1 and _single_threaded()):
        return PendingWalk(pids, None, None, None)
    counts = _fd_counts(pids)
    if sum(counts.values()) < FORK_MIN_FDS:
        return PendingWalk(pids, None, None, None)
    # Biggest first, so the last records taken are small and both sides end together.
    pids.sort(key=counts.__getitem__, reverse=True)
    records = b"".join(pid.to_bytes(RECORD, "little") for pid in pids)
    queue_read, queue_write = os.pipe()
    try:
        if len(records) > 65536:
            fcntl.fcntl(queue_write, fcntl.F_SETPIPE_SZ, min(MAX_PIPE_SIZE, len(records)))
        if os.write(queue_write, records) != len(records):
            raise OSError("short write to the work pipe")
    except OSError:
        os.close(queue_read)
        os.close(queue_write)
        return PendingWalk(pids, None, None, None)
    os.close(queue_write)
    result_read, result_write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(result_read)
            payload = memoryview(marshal.dumps(walk_pids(_queued(queue_read), None)))
            while payload:
                payload = payload[os.write(result_write, payload) :]
        finally:
            os._exit(0)
    os.close(result_write)
    return PendingWalk(pids, queue_read, child, result_read)
