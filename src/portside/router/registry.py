"""Routes: NAME.localhost -> a local port, kept in the state store beside the leases.

A `run` route belongs to the `portside run` process that made it (pid + start time, as a
lease does) and is pruned the moment that owner is found dead, `kill -9` included; an
`alias` (a service started elsewhere, e.g. a container) stays until removed. Names share
the store with leases, so a name's route and its port come from one source of truth.
"""

from __future__ import annotations

import time

from portside._typing import TYPE_CHECKING
from portside.errors import RouteHeld, UsageError
from portside.leasing.liveness import is_alive, start_token
from portside.leasing.store import Store, open_store
from portside.model import Route, RouteKind

if TYPE_CHECKING:
    from typing import Any

COLUMNS = "name, port, kind, owner_pid, owner_start, created"


def _route(row: tuple[Any, ...]) -> Route:
    name, port, kind, *rest = row
    return Route(name, port, RouteKind(kind), *rest)


def is_live(route: Route) -> bool:
    """An alias always is; a run route while its owner runs."""
    if route.owner_pid is None or route.owner_start is None:
        return True
    return is_alive(route.owner_pid, route.owner_start)


def add_route(name: str, port: int, *, kind: RouteKind = RouteKind.RUN, owner: int | None = None, replace: bool = False,
              store: Store | None = None) -> Route:
    """Route `name` (canonical, names.parse_name) to `port`; a live route of another owner needs `replace`."""
    if not 1 <= port <= 65535:
        raise UsageError(f"port {port} is out of range (expected 1 to 65535)")
    owner_start = None
    if owner is not None:
        owner_start = start_token(owner)
        if owner_start is None:
            raise UsageError(f"no running process with pid {owner} to own the route")
    store = store or open_store()
    with store.transaction() as db:
        row = db.execute(f"SELECT {COLUMNS} FROM routes WHERE name = ?", (name,)).fetchone()
        if row is not None and not replace:
            held = _route(row)
            mine = held.owner_pid == owner and held.owner_start == owner_start
            if is_live(held) and not mine and not (held.kind is RouteKind.ALIAS and kind is RouteKind.ALIAS):
                holder = f"pid {held.owner_pid} (portside run)" if held.kind is RouteKind.RUN else "an alias"
                raise RouteHeld(f"{name}.localhost is routed to port {held.port} by {holder}; stop it, "
                                "or take the name over with --replace")
        route = Route(name, port, kind, owner, owner_start, time.time())
        db.execute(f"INSERT OR REPLACE INTO routes ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", route)
    return route


def remove_route(name: str, *, owner: int | None = None, store: Store | None = None) -> bool:
    """Remove `name`'s route (with `owner`: only while that process still owns it); True when one went."""
    store = store or open_store()
    with store.transaction() as db:
        if owner is None:
            gone = db.execute("DELETE FROM routes WHERE name = ?", (name,)).rowcount
        else:
            gone = db.execute("DELETE FROM routes WHERE name = ? AND owner_pid = ? AND owner_start = ?",
                              (name, owner, start_token(owner))).rowcount
    return bool(gone)


def routes(store: Store | None = None) -> list[Route]:
    """Every live route, sorted by name; routes of dead owners are pruned on the way."""
    store = store or open_store()
    found = [_route(row) for row in store.read().execute(f"SELECT {COLUMNS} FROM routes ORDER BY name")]
    dead = [route for route in found if not is_live(route)]
    if dead:
        with store.transaction() as db:
            for route in dead:
                db.execute("DELETE FROM routes WHERE name = ? AND owner_pid IS ? AND owner_start IS ?",
                           (route.name, route.owner_pid, route.owner_start))
    return [route for route in found if route not in dead]
