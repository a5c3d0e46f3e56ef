"""Successive listener lists in, events out: opened, closed, owner-changed, exposure-changed. Pure.

Listeners are matched by protocol, family, address and port. A matched listener whose set of
owners (pid and start time, so a recycled pid counts as another process) differs is
`owner-changed`; one whose exposure, dual-stack flag or reachable addresses differ is
`exposure-changed`. A listener that goes while another comes on the same protocol and port —
a service restarted on 0.0.0.0 instead of 127.0.0.1 — is a rebind, not a close and an open: it
is `exposure-changed` (and `owner-changed` too when its owners differ), with the listener
before in `before`. Rebinds pair within a family first, in address order. What is left over
is `closed` (the listener as last seen) or `opened`.
"""

from __future__ import annotations

from enum import StrEnum

from portside._typing import NamedTuple
from portside.model import Exposure, Family, Listener, Protocol


class Traffic(NamedTuple):
    """A listener's established connections now, and the bytes they moved over the last `seconds`."""

    connections: int
    bytes_in: int
    bytes_out: int
    seconds: float

    @property
    def rate_in(self) -> float:
        """Bytes per second received."""
        return self.bytes_in / self.seconds if self.seconds > 0 else 0.0

    @property
    def rate_out(self) -> float:
        """Bytes per second sent (and acknowledged)."""
        return self.bytes_out / self.seconds if self.seconds > 0 else 0.0


class EventKind(StrEnum):
    OPENED = "opened"
    CLOSED = "closed"
    OWNER_CHANGED = "owner-changed"
    EXPOSURE_CHANGED = "exposure-changed"
    TRAFFIC = "traffic"
    NOTE = "note"


class Event(NamedTuple):
    """Something that happened between two samples, seen at `time` (seconds since the epoch).

    `listener` is the listener after the change (as last seen, for `closed`); `before` the one
    before, for the `*-changed` kinds; `traffic` the figures of a `traffic` event; `note` the text
    of a `note` event, which alone has no listener.
    """

    kind: EventKind
    time: float
    listener: Listener | None
    before: Listener | None = None
    traffic: Traffic | None = None
    note: str | None = None


ListenerKey = tuple[Protocol, Family, str, int]

# Within one listener, events come in this order.
_ORDER = {EventKind.CLOSED: 0, EventKind.EXPOSURE_CHANGED: 1, EventKind.OWNER_CHANGED: 2, EventKind.OPENED: 3}


def key_of(listener: Listener) -> ListenerKey:
    return (listener.protocol, listener.family, listener.address, listener.port)


def _owners(listener: Listener) -> frozenset[tuple[int, int | None]]:
    return frozenset((info.pid, info.start_ticks) for info in listener.processes)


def _reach(listener: Listener) -> tuple[Exposure, bool, tuple[str, ...]]:
    return listener.exposure, listener.dual_stack, listener.reachable_on


def _changes(before: Listener, after: Listener, time: float) -> list[Event]:
    found = []
    if before.address != after.address or before.family != after.family or _reach(before) != _reach(after):
        found.append(Event(EventKind.EXPOSURE_CHANGED, time, after, before))
    if _owners(before) != _owners(after):
        found.append(Event(EventKind.OWNER_CHANGED, time, after, before))
    return found


def _rebinds(gone: list[Listener], came: list[Listener]) -> list[tuple[Listener, Listener]]:
    """Pairs (before, after) on one protocol and port: same family first, each side in address order."""
    pairs = []
    gone, came = sorted(gone, key=key_of), sorted(came, key=key_of)
    for same_family in (True, False):
        for old in list(gone):
            new = next((item for item in came if not same_family or item.family == old.family), None)
            if new is not None:
                pairs.append((old, new))
                gone.remove(old)
                came.remove(new)
    return pairs


def diff(before: tuple[Listener, ...], after: tuple[Listener, ...], time: float) -> tuple[Event, ...]:
    """The events that turn `before` into `after`, ordered by the listener's port, protocol, family
    and address (the new one's, for a rebind)."""
    old = {key_of(item): item for item in before}
    new = {key_of(item): item for item in after}
    found: list[Event] = []
    for key, item in new.items():
        previous = old.get(key)
        if previous is not None and previous is not item and previous != item:
            found.extend(_changes(previous, item, time))
    gone: dict[tuple[Protocol, int], list[Listener]] = {}
    came: dict[tuple[Protocol, int], list[Listener]] = {}
    for key, item in old.items():
        if key not in new:
            gone.setdefault((item.protocol, item.port), []).append(item)
    for key, item in new.items():
        if key not in old:
            came.setdefault((item.protocol, item.port), []).append(item)
    for where, items in gone.items():
        paired = _rebinds(items, came.get(where, []))
        for previous, item in paired:
            found.extend(_changes(previous, item, time))
        taken = {id(item) for pair in paired for item in pair}
        found.extend(Event(EventKind.CLOSED, time, item) for item in items if id(item) not in taken)
        if where in came:
            came[where] = [item for item in came[where] if id(item) not in taken]
    found.extend(Event(EventKind.OPENED, time, item) for items in came.values() for item in items)
    found.sort(key=lambda event: (_sort_key(event), _ORDER[event.kind]))
    return tuple(found)


def _sort_key(event: Event) -> tuple[int, str, str, str]:
    assert event.listener is not None
    item = event.listener
    return item.port, item.protocol.value, item.family.value, item.address


def exposed(event: Event) -> bool:
    """True when the event concerns a listener reachable beyond loopback, before or after it."""
    return any(item is not None and item.exposure is not Exposure.LOOPBACK for item in (event.listener, event.before))
