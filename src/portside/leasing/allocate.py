"""Hand out ports no one else will take: free now, outside the kernel's range, leased.

Ports are chosen before any lock is taken: random ports of the pool (pool.py) on which
the store, read without waiting (WAL), shows no live lease and no remembered name, and
on which a test bind of `[::]` (dual-stack, without SO_REUSEADDR, so it collides with any
socket on 127.0.0.1, 0.0.0.0, ::1, :: or another address, and with TIME_WAIT) succeeds.
The store's write lock is then held only to read those ports' lease rows again and write
the leases: a port with no row, or with a row whose owner was found dead (a dead owner
never comes back), is leased; a port leased meanwhile is passed over. When too few are
left (a small or crowded pool), the rest are chosen, checked and test-bound under the
lock, as a last resort. The port is the leases table's key, so parallel pickers never
get the same port, and the kernel's own outgoing connections never draw from the pool.

Leases of dead or expired owners are reclaimed when a pick meets them, and all of them
at once at most every `SWEEP_SECONDS` (owners judged before the lock, rows deleted under
it). A name keeps the port it had last time while that port is free, so bookmarks keep
working.
"""

from __future__ import annotations

import errno
import os
import random
import socket
import sqlite3
import time
from collections.abc import Callable, Sequence
from itertools import islice

from portside._typing import TYPE_CHECKING, NamedTuple
from portside.errors import LeaseHeld, PoolExhausted, UsageError
from portside.leasing import kernel_ports
from portside.leasing.liveness import is_alive, start_token
from portside.leasing.pool import IANA_DYNAMIC, PortRange, pool
from portside.leasing.store import Store, open_store
from portside.model import Lease, LeaseState, Protocol

if TYPE_CHECKING:
    from typing import Any

RANDOM_TRIES = 48
SPARE = 1  # ports chosen beyond the count, for those another picker leases before the lock is ours
SWEEP_SECONDS = 30.0
LEASE_COLUMNS = "port, protocol, name, owner_pid, owner_start, created, expires"


def _lease(row: tuple[Any, ...]) -> Lease:
    port, protocol, name, pid, start, created, expires = row
    return Lease(port, Protocol(protocol), name, pid, start, created, expires)


def _live(lease: Lease, now: float, alive: Callable[[int, int], bool] = is_alive) -> bool:
    """The lease's time is not up and its owner runs (as `alive(pid, start time)` says)."""
    return (lease.expires is None or lease.expires > now) and alive(lease.owner_pid, lease.owner_start)


def _sweep_due(db: sqlite3.Connection, now: float) -> bool:
    row = db.execute("SELECT value FROM meta WHERE key = 'swept'").fetchone()
    return row is None or now - float(row[0]) >= SWEEP_SECONDS


def bindable(port: int, protocol: Protocol = Protocol.TCP) -> bool:
    """True when no socket of this network namespace holds `port` on any address (a test bind)."""
    kind = socket.SOCK_STREAM if protocol is Protocol.TCP else socket.SOCK_DGRAM
    for family, address in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
        try:
            probe = socket.socket(family, kind)
        except OSError:
            continue
        try:
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            probe.bind((address, port))
            return True
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
        finally:
            probe.close()
    return False


class _Plan(NamedTuple):
    """What a pick found before taking the lock."""

    ports: tuple[int, ...]  # ports with no live lease then, which passed a test bind
    dead: frozenset[tuple[int, int]]  # owners (pid, start time) found gone
    sweep: bool  # whether a sweep was due (then `dead` holds every gone owner)


def _plan(
    db: sqlite3.Connection, ports: tuple[int, ...], protocol: Protocol, names: Sequence[str], count: int, now: float
) -> _Plan:
    """Choose ports without the lock: the names' remembered ports, else `count + SPARE` random ones."""
    alive: dict[tuple[int, int], bool] = {}

    def asked(pid: int, start: int) -> bool:  # each owner asked about once
        if (pid, start) not in alive:
            alive[pid, start] = is_alive(pid, start)
        return alive[pid, start]

    sweep = _sweep_due(db, now)
    if sweep:
        for owner in db.execute("SELECT DISTINCT owner_pid, owner_start FROM leases").fetchall():
            alive[owner] = is_alive(*owner)
    if names:
        remembered = (db.execute("SELECT port FROM names WHERE name = ?", (name,)).fetchone() for name in names)
        tries = [row[0] for row in remembered if row and row[0] in ports]
    else:
        tries = random.choices(ports, k=min(RANDOM_TRIES, len(ports)))
    chosen: list[int] = []
    for port in tries:
        if port in chosen or (not names and db.execute("SELECT 1 FROM names WHERE port = ?", (port,)).fetchone()):
            continue
        row = db.execute(f"SELECT {LEASE_COLUMNS} FROM leases WHERE port = ?", (port,)).fetchone()
        if (row and _live(_lease(row), now, asked)) or not bindable(port, protocol):
            continue
        chosen.append(port)
        if len(chosen) == count + SPARE:
            break
    return _Plan(tuple(chosen), frozenset(owner for owner, up in alive.items() if not up), sweep)


class _Picker:
    """One transaction's view: the pool, the clock, the owner the leases go to and the plan made before it."""

    def __init__(
        self, db: sqlite3.Connection, ports: tuple[int, ...], owner: tuple[int, int], now: float, plan: _Plan
    ) -> None:
        self.db = db
        self.ports = ports
        self.owner = owner
        self.now = now
        self.plan = plan

    def live(self, lease: Lease) -> bool:
        """Like `_live`, without asking again about an owner the plan found gone."""
        return (lease.owner_pid, lease.owner_start) not in self.plan.dead and _live(lease, self.now)

    def lease_on(self, port: int) -> Lease | None:
        row = self.db.execute(f"SELECT {LEASE_COLUMNS} FROM leases WHERE port = ?", (port,)).fetchone()
        return _lease(row) if row else None

    def claimable(self, port: int, avoid_named: bool) -> bool:
        """No live lease on `port` (a dead one is removed), optionally not remembered by a name."""
        lease = self.lease_on(port)
        if lease is not None:
            if self.live(lease):
                return False
            self.db.execute("DELETE FROM leases WHERE port = ?", (port,))
        return not (avoid_named and self.db.execute("SELECT 1 FROM names WHERE port = ?", (port,)).fetchone())

    def planned(self, count: int) -> list[int]:
        """Up to `count` of the plan's ports that no one leased since."""
        return list(islice((port for port in self.plan.ports if self.claimable(port, avoid_named=False)), count))

    def choose(self, protocol: Protocol) -> int:
        """A free port found under the lock: the last resort when the plan's ports were not enough."""
        tries = random.choices(self.ports, k=min(RANDOM_TRIES, len(self.ports)))
        for port in tries:
            if self.claimable(port, avoid_named=True) and bindable(port, protocol):
                return port
        start = random.randrange(len(self.ports))
        leased = in_use = 0
        for port in self.ports[start:] + self.ports[:start]:
            if not self.claimable(port, avoid_named=False):
                leased += 1
            elif not bindable(port, protocol):
                in_use += 1
            else:
                return port
        first, last = self.ports[0], self.ports[-1]
        raise PoolExhausted(
            f"no free port among the {len(self.ports)} of the pool ({first}-{last} outside the kernel's range): "
            f"{leased} leased, {in_use} in use by sockets; release leases or choose another --range"
        )

    def grant(self, port: int, protocol: Protocol, name: str | None, expires: float | None) -> Lease:
        lease = Lease(port, protocol, name, self.owner[0], self.owner[1], self.now, expires)
        self.db.execute(f"INSERT INTO leases ({LEASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", lease)
        if name is not None:
            self.db.execute(
                "INSERT INTO names (name, port, protocol, used) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET port = excluded.port, protocol = excluded.protocol, "
                "used = excluded.used",
                (name, port, protocol.value, self.now),
            )
        return lease

    def named(self, name: str, protocol: Protocol, expires: float | None) -> Lease:
        row = self.db.execute(f"SELECT {LEASE_COLUMNS} FROM leases WHERE name = ?", (name,)).fetchone()
        if row:
            held = _lease(row)
            if self.live(held):
                if (held.owner_pid, held.owner_start) != self.owner:
                    raise LeaseHeld(f"name {name!r} is leased to pid {held.owner_pid} (port {held.port})")
                self.db.execute("UPDATE leases SET expires = ? WHERE port = ?", (expires, held.port))
                return held._replace(expires=expires)
            self.db.execute("DELETE FROM leases WHERE port = ?", (held.port,))
        remembered = self.db.execute("SELECT port FROM names WHERE name = ?", (name,)).fetchone()
        if remembered and remembered[0] in self.ports:
            port = int(remembered[0])
            if self.claimable(port, avoid_named=False) and (port in self.plan.ports or bindable(port, protocol)):
                return self.grant(port, protocol, name, expires)
        return self.grant(self.choose(protocol), protocol, name, expires)

    def sweep(self) -> None:
        """Drop the leases whose time is up or whose owner the plan found gone, unless another pick just did."""
        if not _sweep_due(self.db, self.now):
            return
        self.db.execute("DELETE FROM leases WHERE expires IS NOT NULL AND expires <= ?", (self.now,))
        self.db.executemany("DELETE FROM leases WHERE owner_pid = ? AND owner_start = ?", self.plan.dead)
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('swept', ?)", (self.now,))


def _owner_identity(pid: int | None) -> tuple[int, int]:
    """(pid, start time) of the would-be owner; UsageError when no such process runs."""
    pid = os.getpid() if pid is None else pid
    token = start_token(pid)
    if token is None:
        raise UsageError(f"no running process with pid {pid} to own the lease")
    return pid, token


def pick(
    count: int | None = None,
    *,
    names: Sequence[str] = (),
    protocol: Protocol = Protocol.TCP,
    port_range: PortRange | None = None,
    ttl: float | None = None,
    owner: int | None = None,
    store: Store | None = None,
) -> list[Lease]:
    """Lease `count` free ports (or one per name in `names`) to `owner` (default: this process).

    Names are canonical already (names.parse_name). A lease ends at `release`, when the
    owner exits, or `ttl` seconds from now.
    """
    if count is None:
        count = len(names) or 1
    elif names and count != len(names):
        raise UsageError("give either a count or names: each name gets one port")
    if count < 1:
        raise UsageError(f"invalid count {count}: expected 1 or more")
    ports = pool(port_range or IANA_DYNAMIC, kernel_ports())
    identity = _owner_identity(owner)
    store = store or open_store()
    now = time.time()
    expires = now + ttl if ttl is not None else None
    with store.snapshot() as db:
        plan = _plan(db, ports, protocol, names, count, now)
    with store.transaction() as db:
        picker = _Picker(db, ports, identity, now, plan)
        if plan.sweep:
            picker.sweep()
        if names:
            return [picker.named(name, protocol, expires) for name in names]
        granted = [picker.grant(port, protocol, None, expires) for port in picker.planned(count)]
        return granted + [picker.grant(picker.choose(protocol), protocol, None, expires)
                          for _ in range(count - len(granted))]


def release(key: int | str, *, owner: int | None = None, store: Store | None = None) -> list[Lease]:
    """End the lease on a port (int) or of a name (str); with `owner`, only that owner's.

    UsageError when there is no such lease. The name keeps its port for next time.
    """
    store = store or open_store()
    column = "port" if isinstance(key, int) else "name"
    with store.transaction() as db:
        rows = db.execute(f"SELECT {LEASE_COLUMNS} FROM leases WHERE {column} = ?", (key,)).fetchall()
        found = [_lease(row) for row in rows if owner is None or row[3] == owner]
        if not found:
            what = f"port {key}" if isinstance(key, int) else f"name {key!r}"
            raise UsageError(f"no lease on {what}" + (f" owned by pid {owner}" if owner is not None else ""))
        db.executemany("DELETE FROM leases WHERE port = ?", [(lease.port,) for lease in found])
    return found


def leases(store: Store | None = None) -> list[LeaseState]:
    """Every recorded lease, sorted by port, with whether its owner runs and its time is not up."""
    store = store or open_store()
    now = time.time()
    rows = store.read().execute(f"SELECT {LEASE_COLUMNS} FROM leases ORDER BY port").fetchall()
    return [LeaseState(lease, _live(lease, now)) for lease in map(_lease, rows)]
