"""Wait until one descriptor has something to read: poll(2), which takes any descriptor.

select(2) refuses descriptors of 1024 and above, which a long-lived process (the TUI, a test
run, a library caller with many files open) reaches; poll has no such limit.
"""

from __future__ import annotations

import math
import select

from portside._typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket


def readable(fd: int | socket.socket, timeout: float) -> bool:
    """True when `fd` has data, an end of file or an error within `timeout` seconds (0: only now)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(math.ceil(max(0.0, timeout) * 1000)))
