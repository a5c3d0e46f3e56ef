"""Read /proc: which processes hold which socket inodes, and what those processes are.

The owner walk is the slow part of any socket inventory (every fd of every process is
a readlink). It opens each /proc/PID/fd directory once and reads links relative to it
(readlinkat), keeps only the inodes asked for, and records every holder, so a socket
shared by a parent and its forked children lists all of them. Processes that exit
mid-walk are skipped; those whose fds may not be read are reported, not hidden.
Parsers of /proc text are pure functions of the bytes.
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Collection, Iterable
from functools import lru_cache
from typing import NamedTuple

from portside.inventory.users import user_name
from portside.model import ProcessInfo

PROC = "/proc"
SOCKET_PREFIX = "socket:["
PF_KTHREAD = 0x00200000
FORK_MIN_PIDS = 100  # below this a fork costs more than it saves


class OwnerWalk(NamedTuple):
    """Result of walking /proc/*/fd: holders per inode, and pids we could not read."""

    holders: dict[int, list[int]]
    unreadable: tuple[int, ...]


class StatFields(NamedTuple):
    """The fields of /proc/PID/stat that portside uses."""

    name: str
    state: str
    ppid: int
    flags: int
    threads: int
    start_ticks: int


def parse_stat(data: bytes) -> StatFields:
    """Parse /proc/PID/stat; the name may itself contain spaces and parentheses."""
    open_paren = data.index(b"(")
    close_paren = data.rindex(b")")
    name = data[open_paren + 1 : close_paren].decode(errors="replace")
    rest = data[close_paren + 2 :].split()
    # rest[0] is field 3 (state): flags is field 9, num_threads 20, starttime 22.
    return StatFields(
        name=name,
        state=rest[0].decode(),
        ppid=int(rest[1]),
        flags=int(rest[6]),
        threads=int(rest[17]),
        start_ticks=int(rest[19]),
    )


def parse_cmdline(data: bytes) -> tuple[str, ...]:
    """Split /proc/PID/cmdline on NULs; a process may rewrite it with spaces instead."""
    if not data:
        return ()
    parts = data.rstrip(b"\0").split(b"\0")
    return tuple(part.decode(errors="replace") for part in parts)


def parse_btime(data: bytes) -> int:
    """The boot time (seconds since the epoch) from /proc/stat."""
    for line in data.splitlines():
        if line.startswith(b"btime "):
            return int(line.split()[1])
    raise ValueError("no btime line in /proc/stat")


def all_pids() -> list[int]:
    """Every process id visible in /proc (thread-group leaders only)."""
    return [int(name) for name in os.listdir(PROC) if name.isdigit()]


def _walk_pids(pids: Iterable[int], wanted: Collection[int]) -> tuple[dict[int, list[int]], list[int]]:
    holders: dict[int, list[int]] = {}
    unreadable: list[int] = []
    readlink = os.readlink
    for pid in pids:
        try:
            dir_fd = os.open(f"{PROC}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except PermissionError:
            unreadable.append(pid)
            continue
        except OSError:
            continue  # exited, or a kernel thread
        try:
            names = os.listdir(dir_fd)
            denied = False
            for name in names:
                try:
                    link = readlink(name, dir_fd=dir_fd)
                except PermissionError:
                    denied = True
                    break
                except OSError:
                    continue  # fd closed mid-walk
                if link[:8] == SOCKET_PREFIX:
                    inode = int(link[8:-1])
                    if inode in wanted:
                        pids_of = holders.setdefault(inode, [])
                        if pid not in pids_of:
                            pids_of.append(pid)
            if denied:
                unreadable.append(pid)
        except PermissionError:
            unreadable.append(pid)
        except OSError:
            pass  # exited mid-walk
        finally:
            os.close(dir_fd)
    return holders, unreadable


def _single_threaded() -> bool:
    """True when this process runs one thread, so forking it is safe."""
    try:
        return parse_stat(_read(f"{PROC}/self/stat")).threads == 1
    except (OSError, ValueError):
        return False


def _walk_in_child(pids: list[int], wanted: Collection[int]) -> tuple[int, int]:
    """Fork a child that walks `pids` and writes its result to a pipe; returns (pid, fd)."""
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(read_fd)
            payload = marshal.dumps(_walk_pids(pids, wanted))
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view) :]
        finally:
            os._exit(0)
    os.close(write_fd)
    return child, read_fd


def _collect_child(child: int, read_fd: int) -> tuple[dict[int, list[int]], list[int]] | None:
    chunks = []
    with open(read_fd, "rb", closefd=True) as pipe:
        chunks.append(pipe.read())
    os.waitpid(child, 0)
    try:
        holders, unreadable = marshal.loads(b"".join(chunks))
    except (EOFError, ValueError, TypeError):
        return None
    return holders, unreadable


def walk_owners(wanted: Collection[int], pids: list[int] | None = None, parallel: bool = True) -> OwnerWalk:
    """Find every process holding each socket inode in `wanted`.

    The walk is almost all kernel time and threads only fight over the GIL, so on a
    machine with several cores and many processes a forked child walks half the pids
    while this process walks the other half. Forking happens only when this process is
    single-threaded; otherwise, and if the child fails, the walk runs here alone.
    """
    if pids is None:
        pids = all_pids()
    wanted_set = wanted if isinstance(wanted, (set, frozenset)) else set(wanted)
    fork = parallel and len(pids) >= FORK_MIN_PIDS and (os.cpu_count() or 1) > 1 and _single_threaded()
    if not fork:
        holders, unreadable = _walk_pids(pids, wanted_set)
        return OwnerWalk(holders, tuple(sorted(unreadable)))
    child_part, own_part = pids[1::2], pids[0::2]
    child, read_fd = _walk_in_child(child_part, wanted_set)
    holders, unreadable = _walk_pids(own_part, wanted_set)
    result = _collect_child(child, read_fd)
    if result is None:
        more_holders, more_unreadable = _walk_pids(child_part, wanted_set)
    else:
        more_holders, more_unreadable = result
    for inode, pids_of in more_holders.items():
        mine = holders.get(inode)
        if mine is None:
            holders[inode] = pids_of
        else:
            mine.extend(pids_of)
            mine.sort()
    unreadable.extend(more_unreadable)
    return OwnerWalk(holders, tuple(sorted(unreadable)))


@lru_cache(maxsize=1)
def boot_time() -> int:
    """Seconds since the epoch at which the kernel booted."""
    with open(f"{PROC}/stat", "rb") as file:
        return parse_btime(file.read())


@lru_cache(maxsize=1)
def clock_ticks() -> int:
    """Kernel clock ticks per second, the unit of /proc/PID/stat's start time."""
    return os.sysconf("SC_CLK_TCK")


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def process_info(pid: int) -> ProcessInfo | None:
    """What /proc says about `pid`, or None when it has exited."""
    try:
        stat = parse_stat(_read(f"{PROC}/{pid}/stat"))
        uid = os.stat(f"{PROC}/{pid}").st_uid
    except (FileNotFoundError, ProcessLookupError):
        return None
    try:
        cmdline = parse_cmdline(_read(f"{PROC}/{pid}/cmdline"))
    except OSError:
        cmdline = ()
    return ProcessInfo(
        pid=pid,
        name=stat.name,
        cmdline=cmdline,
        user=user_name(uid),
        uid=uid,
        ppid=stat.ppid,
        start_ticks=stat.start_ticks,
        start_time=boot_time() + stat.start_ticks / clock_ticks(),
    )


def is_kernel_thread(pid: int) -> bool:
    """True for kernel threads (PF_KTHREAD): they hold no files, so an unreadable fd dir hides nothing."""
    try:
        return bool(parse_stat(_read(f"{PROC}/{pid}/stat")).flags & PF_KTHREAD)
    except (OSError, ValueError):
        return False


def process_cwd(pid: int) -> str | None:
    """The working directory of `pid`, or None when it may not be read."""
    try:
        return os.readlink(f"{PROC}/{pid}/cwd")
    except OSError:
        return None


def ancestry(pid: int) -> list[ProcessInfo]:
    """The parent chain of `pid`, nearest parent first, up to pid 1 or a hidden parent."""
    chain: list[ProcessInfo] = []
    seen = {pid}
    info = process_info(pid)
    while info is not None and info.ppid and info.ppid not in seen:
        seen.add(info.ppid)
        info = process_info(info.ppid)
        if info is not None:
            chain.append(info)
    return chain
