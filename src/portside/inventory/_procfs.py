"""Read /proc: what a process is (name, cmdline, user, start time, parents, cwd).

Parsers of /proc text are pure functions of the bytes; the readers around them treat
a process that exits mid-read as gone, not as an error. The owner walk is in _owners.py.
"""

from __future__ import annotations

import os
from functools import lru_cache

from portside._typing import NamedTuple
from portside.inventory._users import user_name
from portside.model import ProcessInfo

PROC = "/proc"
PF_KTHREAD = 0x00200000


class StatFields(NamedTuple):
    """The fields of /proc/PID/stat that portside uses."""

    name: str
    state: str
    ppid: int
    pgrp: int
    flags: int
    threads: int
    start_ticks: int


def parse_stat(data: bytes) -> StatFields:
    """Parse /proc/PID/stat; the name may itself contain spaces and parentheses."""
    open_paren = data.index(b"(")
    close_paren = data.rindex(b")")
    name = data[open_paren + 1 : close_paren].decode(errors="replace")
    rest = data[close_paren + 2 :].split()
    # rest[0] is field 3 (state): ppid is field 4, pgrp 5, flags 9, num_threads 20, starttime 22.
    return StatFields(
        name=name,
        state=rest[0].decode(),
        ppid=int(rest[1]),
        pgrp=int(rest[2]),
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


@lru_cache(maxsize=1)
def has_procfs() -> bool:
    """True where /proc describes processes (Linux)."""
    return os.path.isdir(PROC)


def stat_of(pid: int) -> StatFields | None:
    """/proc/PID/stat parsed, or None when the process is gone or may not be read."""
    try:
        return parse_stat(_read(f"{PROC}/{pid}/stat"))
    except (OSError, ValueError, IndexError):
        return None


def process_stats() -> dict[int, StatFields]:
    """/proc/PID/stat of every process that can be read now, by pid."""
    try:
        entries = os.listdir(PROC)
    except OSError:
        return {}
    found = {}
    for entry in entries:
        if entry.isdigit() and (stat := stat_of(int(entry))) is not None:
            found[int(entry)] = stat
    return found


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


def process_state(pid: int) -> str | None:
    """The state letter of `pid` (R, S, D, T stopped, t traced, Z, ...), or None when it may not be read."""
    stat = stat_of(pid)
    return None if stat is None else stat.state


def is_kernel_thread(pid: int) -> bool:
    """True for kernel threads (PF_KTHREAD): they hold no files, so an unreadable fd dir hides nothing."""
    stat = stat_of(pid)
    return stat is not None and bool(stat.flags & PF_KTHREAD)


def process_cwd(pid: int) -> str | None:
    """The working directory of `pid`, or None when it may not be read."""
    try:
        return os.readlink(f"{PROC}/{pid}/cwd")
    except OSError:
        return None


def ancestry(process: ProcessInfo) -> list[ProcessInfo]:
    """The parent chain of `process`, nearest parent first, up to pid 1 or a hidden parent."""
    chain: list[ProcessInfo] = []
    seen = {process.pid}
    info: ProcessInfo | None = process
    while info is not None and info.ppid and info.ppid not in seen:
        seen.add(info.ppid)
        info = process_info(info.ppid)
        if info is not None:
            chain.append(info)
    return chain
