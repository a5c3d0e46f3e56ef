"""What both of the proxy's protocols share: the route table, backend connections, own pages.

HTTP/1.1 (relay.py) and HTTP/2 (http2.py) clients both end in HTTP/1.1 to the backend:
a `Gateway` decides the route for a Host, connects to its port (or says why not), builds
the forwarded head with X-Forwarded-For, -Proto and -Host set by the proxy, and makes the
404/421/502 pages. It holds the pool of idle backend connections (pool.py) that HTTP/2
streams share. Host `portside.localhost:PORT` exactly (the proxy's own port) is the
dashboard: routed like a backend, but connected in-process to portside.web, imported on the
first such request.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

from portside.leasing.store import Store
from portside.model import Route, RouteKind
from portside.router.http1 import Head, encode_head
from portside.router.limits import DEFAULT_LIMITS, Limits
from portside.router.pages import LISTING, Page, error_page
from portside.router.pool import Pool
from portside.router.registry import is_live, routes
from portside.router.routing import Decision, decide

READ_SIZE = 256 * 1024
IDLE_PER_PORT = 256  # idle keep-alive connections kept per backend port: a burst of streams from a few pages
RECHECK_SECONDS = 1.0
VERSION_CHECK_SECONDS = 0.05
FORWARDED = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"})
BACKEND_ADDRESSES = ("127.0.0.1", "::1")
P = TypeVar("P", bound=asyncio.BaseProtocol)
DASHBOARD_HOST = b"portside.localhost"
DASHBOARD_ROUTE = Route("portside", 0, RouteKind.ALIAS, None, None, 0.0)  # port 0: no real route can have it

if TYPE_CHECKING:
    from portside.web.app import Dashboard


class Refused(NamedTuple):
    """Why a request gets the proxy's own page instead of the backend: the status and the reason."""

    status: int
    reason: str


class RouteTable:
    """The live routes, re-read when another process has committed to the store, and at least every second.

    Asking the store's data_version costs two file-lock calls, so only the write-ahead log's
    size and mtime are looked at (one fstat): a commit changes them. The data_version is asked
    when they change, for a name that is not found, and every 50 ms (two commits within one
    mtime tick can leave the stat unchanged). In an event loop the log is looked at once per
    iteration, not once per request: the requests read in one iteration arrived together, so
    none of them can follow a commit that the first one did not see (a caller that commits
    and reads back in one iteration passes `fresh`). That holds per loop: a call from another
    loop or thread, or outside any loop, looks. `generation` counts re-reads.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.wal = str(store.path) + "-wal"
        self.wal_fd: int | None = None  # the log is kept (same inode) while this process holds the store open
        self.stamp: tuple[int, int] | None = None
        self.version = -1
        self.loaded = self.checked = 0.0
        self.generation = 0
        self.by_name: dict[str, Route] = {}
        self.looked_in: asyncio.AbstractEventLoop | None = None  # the loop whose current iteration looked

    def _stamp(self) -> tuple[int, int] | None:
        if self.wal_fd is None:
            try:
                self.wal_fd = os.open(self.wal, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
        status = os.fstat(self.wal_fd)
        return status.st_mtime_ns, status.st_size

    def current(self, fresh: bool = False) -> dict[str, Route]:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            if self.looked_in is loop:
                if not fresh:
                    return self.by_name
            else:
                self.looked_in = loop
                loop.call_soon(self._unlook)
        now = time.monotonic()
        stamp = self._stamp()
        if fresh or stamp != self.stamp or now - self.checked > VERSION_CHECK_SECONDS:
            self.stamp = stamp
            (version,) = self.store.read().execute("PRAGMA data_version").fetchone()
            self.checked = now
            if version != self.version or now - self.loaded > RECHECK_SECONDS:
                self.by_name = {route.name: route for route in routes(self.store)}
                self.version, self.loaded = version, now
                self.generation += 1
        return self.by_name

    def _unlook(self) -> None:
        """The loop's next iteration: its next call looks again."""
        self.looked_in = None

    def forget(self, route: Route) -> None:
        self.loaded = self.checked = 0.0
        self.looked_in = None
        self.by_name.pop(route.name, None)


class Gateway:
    """The proxy's port, route table and limits, and what every request needs from them."""

    def __init__(self, port: int, store: Store, limits: Limits = DEFAULT_LIMITS) -> None:
        self.port = port
        self.table = RouteTable(store)
        self.limits = limits
        self.dashboard_hosts = {DASHBOARD_HOST + b":%d" % port, *((DASHBOARD_HOST,) if port in (80, 443) else ())}
        self.dashboard: Dashboard | None = None
        self.pool: Pool[Any] = Pool(IDLE_PER_PORT, limits.idle_timeout)  # of http2.Upstream

    def decide(self, host_headers: Sequence[bytes], target: bytes) -> Decision:
        if len(host_headers) == 1 and target[:1] == b"/" and host_headers[0].strip().lower() in self.dashboard_hosts:
            return Decision(DASHBOARD_ROUTE, 0, "", host_headers[0].decode("latin-1"))
        decision = decide(host_headers, target, self.table.current())
        if decision.route is None and decision.status == 404:
            decision = decide(host_headers, target, self.table.current(fresh=True))
        return decision

    def page(self, status: int, message: str, accept: bytes | None, scheme: str) -> Page:
        listed = sorted(self.table.current().values()) if status in LISTING else []
        return error_page(status, message, listed, proxy_port=self.port, scheme=scheme,
                          wants_html=accept is not None and b"text/html" in accept)

    async def connect(self, route: Route, protocol: Callable[[], P]) -> tuple[asyncio.Transport, P] | Refused:
        """A new connection to the route's backend (127.0.0.1, then ::1), or why there is none.

        A route whose owner has exited is forgotten and refused with 404; a backend that
        does not accept gets 502.
        """
        if route is DASHBOARD_ROUTE:
            if self.dashboard is None:
                from portside.web.app import Dashboard

                self.dashboard = Dashboard(self.port, self.table.store)
            return await self.dashboard.connect(protocol)  # type: ignore[return-value]
        if not is_live(route):
            self.table.forget(route)
            return Refused(404, f"{route.name} stopped (its owner exited)")
        loop = asyncio.get_running_loop()
        for address in BACKEND_ADDRESSES:
            try:
                return await loop.create_connection(protocol, address, route.port)
            except OSError:
                continue
        return Refused(502, f"{route.name} does not answer on port {route.port}")

    @staticmethod
    def forwarded_fields(peer: str, host: str, scheme: str) -> bytes:
        """The X-Forwarded-For, -Proto and -Host lines the proxy adds (a client's own are dropped)."""
        return b"X-Forwarded-For: %s\r\nX-Forwarded-Proto: %s\r\nX-Forwarded-Host: %s\r\n" % (
            peer.encode(), scheme.encode(), host.encode("latin-1"))

    @staticmethod
    def forwarded_head(head: Head, headers: list[tuple[bytes, bytes]], forwarded: bytes) -> bytes:
        """The request head for the backend: origin-form target, then `headers` less any X-Forwarded-*, then
        `forwarded` (from forwarded_fields).

        An absolute-form target (routed by its own host) becomes origin-form, and its host the Host field
        in place of the client's, as RFC 9112 3.2.2 asks of a proxy.
        """
        if head.target[:1] not in (b"/", b"*"):
            split = urlsplit(head.target.decode("latin-1"))
            head = head._replace(target=(split.path or "/").encode("latin-1") +
                                 (b"?" + split.query.encode("latin-1") if split.query else b""))
            headers = [(b"Host", split.netloc.encode("latin-1")), *((k, v) for k, v in headers if k.lower() != b"host")]
        return encode_head(head, headers, forwarded, leave_out=FORWARDED)
