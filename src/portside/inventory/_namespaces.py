"""Listeners in other network namespaces (containers, `ip netns`), seen through their processes.

/proc/PID/net/tcp{,6} shows the sockets of the namespace PID lives in, so one process
per namespace is enough to list its TCP listeners without entering it; the fds of the
namespace's processes then tell which one holds each. Namespaces are told apart by the
inode of /proc/PID/ns/net; reading another user's needs root, so a non-root caller sees
only its own processes' namespaces (and is told so).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator

from portside.inventory._owners import walk_pids
from portside.inventory._procfs import PROC, process_info
from portside.model import ForeignListener

TCP_LISTEN = b"0A"
NAMED = ("/run/netns", "/var/run/netns")


def _address(hex_text: str) -> str:
    raw = bytes.fromhex(hex_text)
    swapped = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(swapped))


def parse_net_tcp(data: bytes) -> Iterator[tuple[str, int]]:
    """(address, port) of every LISTEN socket in /proc/net/tcp or tcp6 text."""
    for address, port, _ in parse_net_listeners(data):
        yield address, port


def parse_net_listeners(data: bytes) -> Iterator[tuple[str, int, int]]:
    """(address, port, inode) of every LISTEN socket in /proc/net/tcp or tcp6 text (inode 0 when cut short)."""
    for line in data.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != TCP_LISTEN:
            continue
        address, _, port = fields[1].decode("latin-1").partition(":")
        try:
            yield _address(address), int(port, 16), int(fields[9]) if len(fields) > 9 else 0
        except ValueError:
            continue


def _namespace_names() -> dict[int, str]:
    names = {}
    for directory in NAMED:
        try:
            for entry in os.scandir(directory):
                names[entry.stat().st_ino] = entry.name
        except OSError:
            continue
    return names


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def listeners_elsewhere(port: int | None) -> tuple[tuple[ForeignListener, ...], bool]:
    """TCP listeners on `port` (None: every port) in every other network namespace, each with the process holding
    it (one living there when the holder cannot be seen); False when some namespaces were unreadable."""
    own = os.stat(f"{PROC}/self/ns/net").st_ino
    named = _namespace_names()
    members: dict[int, list[int]] = {}
    complete = True
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            namespace = os.stat(f"{PROC}/{entry.name}/ns/net").st_ino
        except PermissionError:
            complete = False
            continue
        except OSError:
            continue
        if namespace != own:
            members.setdefault(namespace, []).append(int(entry.name))
    found = []
    for namespace, pids in members.items():
        label = f"netns {named[namespace]}" if namespace in named else f"net:[{namespace}]"
        rows = [row for table in ("tcp", "tcp6") for row in parse_net_listeners(_read(f"{PROC}/{pids[0]}/net/{table}"))
                if port is None or row[1] == port]
        holders, _ = walk_pids(pids, {inode for _, _, inode in rows}.__contains__) if rows else ({}, [])
        for address, bound, inode in rows:
            pid = holders.get(inode, (pids[0],))[0]
            info = process_info(pid)
            found.append(ForeignListener(label, address, bound, pid, info.name if info else "?"))
    return tuple(found), complete
