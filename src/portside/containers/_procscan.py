"""Read /proc for containers: which processes belong to which container, the stand-ins, what listens inside.

One pass over /proc reads every process's name and cgroup file — only when an inventory
showed a stand-in or an engine's bridge, so a machine without containers never pays for it. A container's network namespace is read
through one of its processes (/proc/PID/net/tcp{,6}, fib_trie, if_inet6), without
entering it — or, as root, by sock_diag from inside it (_nsdiag.py: much faster than
/proc/net/tcp); its sockets' owners through the fds of the container's own processes.
Processes that exit mid-scan are skipped; unreadable ones leave a field unknown.
"""

from __future__ import annotations

import os

from portside._typing import NamedTuple
from portside.containers.cgroups import container_of
from portside.containers.facts import InsideSocket, Member
from portside.containers.localaddrs import parse_fib_trie, parse_if_inet6
from portside.containers.names import DOCKERD, NAMES
from portside.containers.standins import StandIn, stand_in
from portside.inventory import process_info
from portside.inventory._namespaces import parse_net_listeners
from portside.inventory._owners import walk_pids
from portside.inventory._procfs import PROC
from portside.inventory.snapshot import RawSocket
from portside.model import Engine


class Scan(NamedTuple):
    """Containers by id, the stand-ins, and dockerds' argv."""

    members: dict[str, Member]
    stand_ins: tuple[StandIn, ...]
    dockerds: tuple[tuple[str, ...], ...]


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def scan() -> Scan:
    """One pass over /proc: every container's processes (by cgroup), every stand-in and engine daemon (by name)."""
    pids: dict[str, list[int]] = {}
    engines: dict[str, Engine] = {}
    found: list[StandIn] = []
    dockerds = []
    for name in os.listdir(PROC):
        if not name.isdigit():
            continue
        pid = int(name)
        comm = (_read(f"{PROC}/{pid}/comm") or "").strip()
        if comm in NAMES:
            info = process_info(pid)
            seen = stand_in(info) if info is not None else None
            found.extend([seen] if seen is not None else [])
            dockerds.extend([info.cmdline] if info is not None and comm == DOCKERD else [])
            continue
        owner = container_of_pid(pid)
        if owner is not None:
            engines[owner[1]] = owner[0]
            pids.setdefault(owner[1], []).append(pid)
    members = {cid: Member(engines[cid], cid, tuple(sorted(found_pids))) for cid, found_pids in pids.items()}
    return Scan(members, tuple(found), tuple(dockerds))


def container_of_pid(pid: int) -> tuple[Engine, str] | None:
    """(engine, container id) of the container `pid` runs in, by its cgroup; None outside one."""
    return container_of(_read(f"{PROC}/{pid}/cgroup") or "")


def children(pid: int) -> tuple[int, ...]:
    """The child processes of `pid` (/proc/PID/task/*/children); empty when gone or unreadable."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"{PROC}/{pid}/task")
    except OSError:
        return ()
    for task in tasks:
        found += [int(word) for word in (_read(f"{PROC}/{pid}/task/{task}/children") or "").split() if word.isdigit()]
    return tuple(sorted(set(found)))


def netns(pid: int) -> int | None:
    """The inode of `pid`'s network namespace; None when it exited or may not be read."""
    try:
        return os.stat(f"{PROC}/{pid}/ns/net").st_ino
    except OSError:
        return None


def addresses(member: Member) -> tuple[str, ...]:
    """The container's own addresses (IPv4 and global IPv6), read through its first readable process."""
    for pid in member.pids:
        trie = _read(f"{PROC}/{pid}/net/fib_trie")
        if trie is not None:
            return parse_fib_trie(trie) + parse_if_inet6(_read(f"{PROC}/{pid}/net/if_inet6") or "")
    return ()


def inside(member: Member, listening: tuple[RawSocket, ...] | None = None) -> tuple[InsideSocket, ...] | None:
    """The TCP listeners in the container's namespace (`listening`, when sock_diag already read them, else its
    processes' /proc/PID/net/tcp{,6}) and their owners among its processes; None when unreadable."""
    rows = None if listening is None else [(s.local.address, s.local.port, s.inode) for s in listening]
    for pid in member.pids if rows is None else ():
        tables = [_read(f"{PROC}/{pid}/net/{table}") for table in ("tcp", "tcp6")]
        if tables[0] is not None:
            rows = [row for text in tables if text for row in parse_net_listeners(text.encode())]
            break
    if rows is None:
        return None
    inodes = {inode for _, _, inode in rows if inode}
    holders, _ = walk_pids(list(member.pids), inodes.__contains__)
    return tuple(InsideSocket(address, port, holders.get(inode, ())) for address, port, inode in rows)
