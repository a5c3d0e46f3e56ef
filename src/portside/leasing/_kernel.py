"""Read the kernel's port settings: the ephemeral range and the reserved ports.

Linux keeps both under /proc/sys/net/ipv4 (shared by IPv6). Elsewhere the kernel draws
ephemeral ports from IANA's dynamic range, which is what is assumed when /proc is absent.
"""

from __future__ import annotations

import os

from portside.leasing.pool import IANA_DYNAMIC, KernelPorts, parse_local_port_range, parse_reserved_ports

SYSCTL = "/proc/sys/net/ipv4"


def _read(name: str) -> str | None:
    """The text of one sysctl file (read without Python's buffered I/O: every pick reads two)."""
    try:
        fd = os.open(f"{SYSCTL}/{name}", os.O_RDONLY)
    except OSError:
        return None
    try:
        return os.read(fd, 4096).decode("ascii")
    except OSError:
        return None
    finally:
        os.close(fd)


def kernel_ports() -> KernelPorts:
    """The ports the kernel hands out or keeps for itself on this machine."""
    ephemeral = _read("ip_local_port_range")
    reserved = _read("ip_local_reserved_ports")
    return KernelPorts(
        ephemeral=parse_local_port_range(ephemeral) if ephemeral is not None else IANA_DYNAMIC,
        reserved=parse_reserved_ports(reserved) if reserved is not None else frozenset(),
    )


def unprivileged_port_start() -> int:
    """The lowest port a user without CAP_NET_BIND_SERVICE may bind (1024 where unknown)."""
    text = _read("ip_unprivileged_port_start")
    return int(text) if text is not None and text.strip().isdigit() else 1024
