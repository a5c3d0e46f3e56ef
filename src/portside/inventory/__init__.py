"""Read the machine's sockets and owners through one adapter, chosen once per call.

Linux uses netlink and /proc (`linux`); elsewhere, or when asked with
`backend="portable"` or `PORTSIDE_BACKEND=portable`, psutil does the reading.
"""

from __future__ import annotations

import os
import sys

from portside.assemble import assemble
from portside.errors import UsageError
from portside.model import Inventory, Protocol, Snapshot

BACKENDS = ("linux", "portable")


def choose_backend(requested: str | None = None) -> str:
    """The adapter to use: the one asked for, else linux where /proc exists, else portable."""
    name = requested or os.environ.get("PORTSIDE_BACKEND") or ""
    if name:
        if name not in BACKENDS:
            raise UsageError(f"unknown backend {name!r} (expected one of {', '.join(BACKENDS)})")
        return name
    return "linux" if sys.platform.startswith("linux") and os.path.isdir("/proc/self/fd") else "portable"


def take_snapshot(
    protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP),
    connections: bool = False,
    backend: str | None = None,
) -> Snapshot:
    """One adapter pass over the machine."""
    if choose_backend(backend) == "linux":
        from portside.inventory import linux

        return linux.snapshot(protocols, connections)
    from portside.inventory import portable

    return portable.snapshot(protocols, connections)


def inventory(
    protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP),
    connections: bool = False,
    backend: str | None = None,
) -> Inventory:
    """Every listener on this machine (and connections when asked), judged and sorted."""
    from portside.inventory.users import user_name

    snap = take_snapshot(protocols, connections, backend)
    uids = {sock.uid for sock in snap.sockets if sock.uid is not None}
    return assemble(snap, {uid: user_name(uid) for uid in uids})
