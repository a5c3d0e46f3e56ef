"""Idle keep-alive connections to backends, per port, shared by every client connection of the proxy.

The newest idle connection is taken first (its backend is least likely to have closed it); at
most `per_port` are kept per port, and one idle longer than `timeout` is closed by a single
lazy timer. A backend that closes an idle connection takes it out with `discard`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, Protocol, TypeVar


class Reusable(Protocol):
    port: int

    def close(self) -> None: ...


C = TypeVar("C", bound=Reusable)


class Pool(Generic[C]):
    """Idle connections by port, oldest first, each with the time it went idle."""

    def __init__(self, per_port: int, timeout: float) -> None:
        self.per_port = per_port
        self.timeout = timeout
        self.idle: dict[int, deque[tuple[float, C]]] = {}
        self.timer: asyncio.TimerHandle | None = None

    def take(self, port: int) -> C | None:
        idle = self.idle.get(port)
        return idle.pop()[1] if idle else None

    def put(self, connection: C) -> None:
        idle = self.idle.setdefault(connection.port, deque())
        if len(idle) >= self.per_port:
            connection.close()
            return
        loop = asyncio.get_running_loop()
        idle.append((loop.time(), connection))
        if self.timer is None:
            self.timer = loop.call_later(self.timeout, self._expire)

    def discard(self, connection: C) -> None:
        idle = self.idle.get(connection.port)
        if idle is None:
            return
        for entry in idle:
            if entry[1] is connection:
                idle.remove(entry)
                return

    def _expire(self) -> None:
        """Close what has been idle for the timeout; wake again for the oldest that remains."""
        self.timer = None
        loop = asyncio.get_running_loop()
        cutoff, oldest = loop.time() - self.timeout, None
        for idle in self.idle.values():
            while idle and idle[0][0] <= cutoff:
                idle.popleft()[1].close()
            if idle and (oldest is None or idle[0][0] < oldest):
                oldest = idle[0][0]
        if oldest is not None:
            self.timer = loop.call_at(oldest + self.timeout, self._expire)
