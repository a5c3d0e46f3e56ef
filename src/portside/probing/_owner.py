"""Who listens behind a port on this machine: the owner a probe's hint is drawn from.

Cheaper than an inventory pass, because one socket is wanted: the kernel's table of TCP
listeners (netlink) gives the listening socket a dial reaches and its user, then /proc is
walked for the process holding it, that user's processes first, stopping at the first
holder (a few milliseconds, while a greeting, if any, is on its way). Only ports of this
machine are looked up; a process hidden from a non-root caller still leaves the socket's
user as a hint.
"""

from __future__ import annotations

import os
import pwd

from portside.errors import PortsideError
from portside.inventory import process_info, tcp_sockets_in
from portside.inventory.snapshot import RawSocket
from portside.model import ConnectionState
from portside.net.addresses import ip_of
from portside.probing.hints import Owner

PROC = "/proc"


def _listening_socket(address: str, port: int) -> RawSocket | None:
    """The listening socket a connection to `address`:`port` reaches: its own address, else a wildcard."""
    ip = ip_of(address)
    wildcard = None
    for raw in tcp_sockets_in(ConnectionState.LISTEN):
        if raw.local.port != port:
            continue
        bound = ip_of(raw.local.address)
        if bound == ip:
            return raw
        if bound.is_unspecified and (bound.version == ip.version or (ip.version == 4 and raw.v6only is False)):
            wildcard = wildcard or raw
    return wildcard


def _uid_of(pid: int) -> int | None:
    try:
        return os.stat(f"{PROC}/{pid}").st_uid
    except OSError:
        return None


def _holder(inode: int, uid: int | None) -> int | None:
    """The first process found holding socket `inode`, looking at user `uid`'s processes first."""
    wanted = f"socket:[{inode}]"
    pids = [int(name) for name in os.listdir(PROC) if name.isdigit()]
    pids.sort(key=lambda pid: _uid_of(pid) != uid)
    for pid in pids:
        try:
            dir_fd = os.open(f"{PROC}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            continue  # exited, or not ours to read
        try:
            for name in os.listdir(dir_fd):
                try:
                    if os.readlink(name, dir_fd=dir_fd) == wanted:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
        finally:
            os.close(dir_fd)
    return None


def _user(uid: int | None) -> str | None:
    try:
        return pwd.getpwuid(uid).pw_name if uid is not None else None
    except KeyError:
        return None


def owner_of(address: str, port: int) -> Owner | None:
    """The owner of the listener that a connection to `address`:`port` on this machine reaches, or None."""
    try:
        raw = _listening_socket(address, port)
        if raw is None:
            return None
        pid = _holder(raw.inode, raw.uid) if raw.inode else None
    except (PortsideError, OSError, ValueError):
        return None
    process = process_info(pid) if pid is not None else None
    if process is None:
        return Owner(None, (), _user(raw.uid))
    return Owner(process.name, process.cmdline, process.user)
