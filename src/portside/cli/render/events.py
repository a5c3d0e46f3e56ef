"""`watch`'s events and figures as text for people: one line per event, byte counts in short units.

Shared by the plain stream (`portside watch` piped) and the TUI's event log, so both say the same.
"""

from __future__ import annotations

import time

from portside.model import Listener
from portside.monitor.events import Event, EventKind
from portside.net.addresses import host_port

UNITS = ("B", "kB", "MB", "GB", "TB")


def short_bytes(count: float) -> str:
    """1234 -> '1.2 kB', in powers of 1000 as `ls -h --si` and network tools count; '0 B' for nothing."""
    value = float(count)
    for unit in UNITS:
        if abs(value) < 999.5 or unit == UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def where(listener: Listener) -> str:
    """'tcp 127.0.0.1:8000'."""
    return f"{listener.protocol.value} {host_port(listener.address, listener.port)}"


def owners(listener: Listener) -> str:
    """'python3 (4242)', several joined by commas; '?' when no owner is visible."""
    if not listener.processes:
        return "?"
    return ", ".join(f"{info.name} ({info.pid})" for info in listener.processes)


def exposure(listener: Listener) -> str:
    return listener.exposure.value + (" dual-stack" if listener.dual_stack else "")


def describe(event: Event) -> str:
    """What happened, without the time: 'opened tcp 127.0.0.1:8000 loopback python3 (4242)'."""
    item = event.listener
    if event.kind is EventKind.NOTE or item is None:
        return f"note: {event.note}"
    head = f"{event.kind.value} {where(item)}"
    before = event.before
    if event.kind is EventKind.EXPOSURE_CHANGED and before is not None:
        moved = f" (was {host_port(before.address, before.port)})" if before.address != item.address else ""
        return f"{head} {exposure(before)} -> {exposure(item)}{moved}"
    if event.kind is EventKind.OWNER_CHANGED and before is not None:
        return f"{head} {owners(before)} -> {owners(item)}"
    if event.kind is EventKind.TRAFFIC and event.traffic is not None:
        figures = event.traffic
        return (f"{head} {figures.connections} conn, in {short_bytes(figures.rate_in)}/s, "
                f"out {short_bytes(figures.rate_out)}/s")
    return f"{head} {exposure(item)} {owners(item)}"


def event_line(event: Event) -> str:
    """'14:03:07 opened tcp 127.0.0.1:8000 loopback python3 (4242)'."""
    return f"{time.strftime('%H:%M:%S', time.localtime(event.time))} {describe(event)}"
