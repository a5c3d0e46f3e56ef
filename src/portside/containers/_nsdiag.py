"""Listening TCP sockets inside other network namespaces, by sock_diag from a thread that enters each one.

/proc/PID/net/tcp{,6} shows a namespace's sockets without entering it, but every read
walks the kernel's whole TCP hash table (milliseconds per file on a machine with much
memory); a sock_diag dump that asks only for listeners does not. A netlink socket
belongs to the namespace it is made in, so one helper thread enters each namespace in
turn (setns, which needs CAP_SYS_ADMIN), makes its socket there, and goes back; the
calling thread never moves, and a thread that could not go back ends with its namespace.
Where setns is refused (not root) the caller reads /proc instead.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Sequence

from portside.inventory import _netlink
from portside.inventory.snapshot import RawSocket
from portside.model import Protocol
from portside.net.netlink import TCP_LISTEN

CLONE_NEWNET = 0x40000000


def _setns() -> Callable[[int, int], None] | None:
    """os.setns (Python 3.12+), else libc's through ctypes; None where neither exists."""
    native: Callable[[int, int], None] | None = getattr(os, "setns", None)
    if native is not None:
        return native
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.setns
    except (OSError, AttributeError):
        return None

    def enter(fd: int, nstype: int) -> None:
        if call(fd, nstype) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error))

    return enter


def _dump() -> tuple[RawSocket, ...]:
    listening = 1 << TCP_LISTEN
    return tuple(s for family in (socket.AF_INET, socket.AF_INET6)
                 for s in _netlink.sockets(family, Protocol.TCP, listening))


def listeners_in(pids: Sequence[int]) -> dict[int, tuple[RawSocket, ...]] | None:
    """The TCP listeners of each pid's network namespace; pids that exited are left out; None when namespaces
    cannot be entered here (not root, no setns)."""
    enter = _setns()
    if enter is None or not pids:
        return None
    found: dict[int, tuple[RawSocket, ...]] = {}
    refused: list[bool] = []

    def work() -> None:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            for pid in pids:
                try:
                    target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    enter(target, CLONE_NEWNET)
                except PermissionError:
                    refused.append(True)
                    return
                except OSError:
                    continue
                finally:
                    os.close(target)
                try:
                    found[pid] = _dump()
                except OSError:
                    pass
                finally:
                    enter(home, CLONE_NEWNET)  # raises if it cannot: the thread ends in that namespace
        finally:
            os.close(home)

    worker = threading.Thread(target=work, name="portside-netns", daemon=True)
    worker.start()
    worker.join()
    return None if refused else found
