"""The dashboard's data, sampled once per interval for every open page, and not at all when none is open.

A `Hub` lives in the proxy process. Listeners, their traffic and events come from monitor's
Watcher (the sampler of `watch`: one inventory and one read of the TCP counters per step,
run in a worker thread, one step at a time); routes, leases and the `run` services' kept
output are read from the state store and the runs directory at the same moment. Each page's
event stream subscribes; while any does, one task samples every INTERVAL seconds and sends
each subscriber the table bodies that changed since it last got them (pages with the same
filter share one rendering). When the last one leaves, the task ends and the Watcher, with
its kernel subscription, is closed. A page load with no stream open takes one sample.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import deque

from portside.leasing.allocate import leases
from portside.leasing.statefiles import open_regular
from portside.leasing.store import Store
from portside.model import RouteKind
from portside.monitor.events import Event, EventKind
from portside.monitor.watcher import Tick, Watcher
from portside.process.output import output_path
from portside.router.registry import routes
from portside.router.routing import url_of
from portside.web.render import fragments
from portside.web.view import MAX_EVENTS, RunOutput, View, logged, services_of

INTERVAL = 1.0
OUTPUT_LIMIT = 1 << 20


class Subscriber:
    """One open event stream: its filter and scheme, the bodies it was last sent, and its queue of messages."""

    def __init__(self, query: str, scheme: str) -> None:
        self.query, self.scheme = query, scheme
        self.sent: dict[str, str] = {}
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=8)

    def offer(self, bodies: dict[str, str]) -> None:
        """Queue the bodies that changed as one SSE `update` message (dropped when the page is that far behind)."""
        changed = {name: html for name, html in bodies.items() if self.sent.get(name) != html}
        if not changed or self.queue.full():
            return
        self.sent.update(changed)
        self.queue.put_nowait(b"event: update\ndata: " + json.dumps(changed).encode() + b"\n\n")


def read_output(name: str, pid: int) -> RunOutput | None:
    """What run `pid` kept of its command's output (process/output.py), or None."""
    try:
        fd = open_regular(output_path(name, pid), os.O_RDONLY)
    except OSError:
        return None
    try:
        data = json.loads(os.read(fd, OUTPUT_LIMIT))
        return RunOutput(tuple(map(str, data["command"])),
                         tuple((str(stream), str(text)) for stream, text in data["lines"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    finally:
        os.close(fd)


class Hub:
    """The proxy's one sampler for the dashboard, and the event log it keeps."""

    def __init__(self, store: Store, port: int, interval: float = INTERVAL) -> None:
        self.store, self.port, self.interval = store, port, interval
        self.watcher: Watcher | None = None
        self.tick: Tick | None = None
        self.taken = 0.0
        self.events: deque[Event] = deque(maxlen=MAX_EVENTS)
        self.subscribers: set[Subscriber] = set()
        self.task: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()
        self.samples = 0

    def log(self, note: str) -> None:
        """Put a line in the event log (the dashboard's own actions)."""
        self.events.append(Event(EventKind.NOTE, time.time(), None, note=note))

    async def sample(self) -> Tick:
        """The latest sample, taken now unless one is younger than the interval."""
        async with self.lock:
            if self.tick is not None and time.monotonic() - self.taken < self.interval * 0.9:
                return self.tick
            loop = asyncio.get_running_loop()
            if self.watcher is None:
                self.watcher = await loop.run_in_executor(None, Watcher)
            tick = await loop.run_in_executor(None, self.watcher.step)
            self.tick, self.taken = tick, time.monotonic()
            self.samples += 1
            self.events.extend(logged(tick.events))
            if self.task is None:  # nobody follows: do not keep the kernel subscription open
                self._close_watcher()
            return tick

    def _close_watcher(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None

    def view(self, tick: Tick, scheme: str) -> View:
        """The tick's listeners with the store's routes, services and leases as they are now."""
        routed = tuple((route, url_of(route.name, self.port, scheme)) for route in routes(self.store))
        outputs = {(route.name, route.owner_pid or 0): found for route, _ in routed
                   if route.kind is RouteKind.RUN and route.owner_pid is not None
                   and (found := read_output(route.name, route.owner_pid)) is not None}
        notes = tuple(event.note or "" for event in tick.events if event.kind is EventKind.NOTE)
        return View(tick.listeners, tick.traffic, routed, services_of(routed, outputs), tuple(leases(self.store)),
                    tuple(self.events), notes=notes)

    def subscribe(self, query: str, scheme: str) -> Subscriber:
        subscriber = Subscriber(query, scheme)
        self.subscribers.add(subscriber)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    async def _run(self) -> None:
        """Sample and send while anyone listens."""
        try:
            while self.subscribers:
                began = time.monotonic()
                tick = await self.sample()
                rendered: dict[tuple[str, str], dict[str, str]] = {}
                for subscriber in list(self.subscribers):
                    key = (subscriber.query, subscriber.scheme)
                    if key not in rendered:
                        rendered[key] = fragments(self.view(tick, subscriber.scheme), subscriber.query)
                    subscriber.offer(rendered[key])
                await asyncio.sleep(max(0.05, self.interval - (time.monotonic() - began)))
        finally:
            self.task = None
            self._close_watcher()
