"""The interface the kernel routes a container's address through (`ip -o route get`): the forward path's oif.

A route lookup asks the kernel's table over netlink; no packet is sent.
"""

from __future__ import annotations

import re
import shutil
import subprocess

TIMEOUT = 2.0


def out_interface(address: str) -> str | None:
    """The device a packet to `address` leaves by, or None when it cannot be told."""
    tool = shutil.which("ip", path="/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin")
    if tool is None:
        return None
    try:
        done = subprocess.run([tool, "-o", "route", "get", address], capture_output=True, text=True, timeout=TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"\bdev (\S+)", done.stdout)
    return found[1] if done.returncode == 0 and found else None
