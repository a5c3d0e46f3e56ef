"""Gather what `doctor` judges: the machine's listeners, TIME_WAIT sockets and kernel port settings.

The adapters' side of doctor.py (which stays pure): everything here reads the machine.
"""

from __future__ import annotations

import os
import socket

from portside.doctor import ListenEvidence
from portside.errors import InventoryError
from portside.inventory import inventory
from portside.inventory.kernel import kernel_ports, unprivileged_port_start
from portside.model import Protocol

TCP_TIME_WAIT = 6


def time_wait_count(port: int) -> int:
    """How many TCP sockets in TIME_WAIT have `port` as their local port (0 where netlink is unavailable)."""
    from portside.inventory import netlink

    count = 0
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            found = netlink.sockets(family, Protocol.TCP, 1 << TCP_TIME_WAIT)
        except (InventoryError, OSError):
            continue
        count += sum(1 for raw in found if raw.local.port == port)
    return count


def listen_evidence(port: int) -> ListenEvidence:
    """What stands between a server and binding TCP `port` on this machine."""
    listeners = inventory(protocols=(Protocol.TCP,)).listeners
    return ListenEvidence(
        port=port,
        holders=tuple(listener for listener in listeners if listener.port == port),
        time_wait=time_wait_count(port),
        ephemeral=kernel_ports().ephemeral,
        unprivileged_start=unprivileged_port_start(),
        root=hasattr(os, "geteuid") and os.geteuid() == 0,
    )
