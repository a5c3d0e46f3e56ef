"""Is a lease's owner still the process that took it? A pid plus its start time says so.

Pids are recycled; the start time (kernel clock ticks since boot on Linux) is not, so a
lease records both and dies with its owner even when the pid comes back as someone else.
"""

from __future__ import annotations

from portside.inventory import has_procfs, stat_of


def start_token(pid: int) -> int | None:
    """The start time that pins `pid`'s identity, or None when no such process runs."""
    if pid <= 0:
        return None
    if has_procfs():
        stat = stat_of(pid)
        return None if stat is None else stat.start_ticks
    import psutil

    try:
        return int(psutil.Process(pid).create_time() * 100)
    except psutil.Error:
        return None


def is_alive(pid: int, token: int) -> bool:
    """True while `pid` runs and is the very process whose start time is `token`."""
    return start_token(pid) == token
