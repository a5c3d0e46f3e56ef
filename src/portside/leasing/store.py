"""The embedded store: one SQLite file (WAL) holding leases, remembered names and routes.

Writers serialise on an advisory `flock` of a sibling lock file before `BEGIN IMMEDIATE`:
the kernel queues them and wakes the next at once, where SQLite's own busy handler would
sleep and retry. Both locks die with their holder, and a transaction either commits whole
or not at all, so a `kill -9` at any moment leaves the store as it was or as it became.
Commits are not fsynced (`synchronous=NORMAL`): that survives any process crash, and a
power cut only loses the last leases, whose owners died with the machine anyway.

A file that is not SQLite, or an SQLite database of another program, is refused before
anything is written to it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from portside.errors import StateFileError

try:
    import fcntl
except ImportError:  # Windows: SQLite's own locking and busy timeout serialise writers.
    fcntl = None  # type: ignore[assignment]

FILE_NAME = "state.db"
LOCK_NAME = "state.lock"
APPLICATION_ID = 0x706F7274  # "port"
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    port INTEGER PRIMARY KEY,
    protocol TEXT NOT NULL,
    name TEXT UNIQUE,
    owner_pid INTEGER NOT NULL,
    owner_start INTEGER NOT NULL,
    created REAL NOT NULL,
    expires REAL
);
CREATE INDEX IF NOT EXISTS leases_owner ON leases (owner_pid, owner_start);
CREATE TABLE IF NOT EXISTS names (
    name TEXT PRIMARY KEY,
    port INTEGER NOT NULL,
    protocol TEXT NOT NULL,
    used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS names_port ON names (port);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS routes (
    name TEXT PRIMARY KEY,
    port INTEGER NOT NULL,
    kind TEXT NOT NULL,
    owner_pid INTEGER,
    owner_start INTEGER,
    created REAL NOT NULL
);
"""
SCHEMA_VERSION = 2  # 1: leases and names; 2: routes


def state_dir() -> Path:
    """`$PORTSIDE_HOME`, else `$XDG_STATE_HOME/portside`, else `~/.local/state/portside`."""
    home = os.environ.get("PORTSIDE_HOME")
    if home:
        return Path(home)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "portside"


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except IsADirectoryError:
        raise StateFileError(f"state file {path} is a directory") from None
    except OSError as error:
        raise StateFileError(f"cannot read state file {path}: {error.strerror}") from None
    if head and head != SQLITE_MAGIC:
        raise StateFileError(
            f"{path} is not a portside state file (not an SQLite database); move it away or set PORTSIDE_HOME"
        )


class Store:
    """An open state store; use `transaction()` to change it and `read()` to query it."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise StateFileError(f"cannot create state directory {directory}: {error.strerror}") from None
        _check_header(self.path)
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        except OSError as error:
            raise StateFileError(f"cannot open state file {self.path}: {error.strerror}") from None
        self._thread_lock = threading.Lock()
        self._lock_fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            with self._flock():
                self._prepare()
        except sqlite3.DatabaseError as error:
            os.close(self._lock_fd)
            raise StateFileError(f"{self.path} is not a usable portside state file ({error})") from None

    @contextmanager
    def _flock(self) -> Iterator[None]:
        with self._thread_lock:
            if fcntl is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the lock file `name` beside the store (not the store's own): one holder on the machine at a time."""
        fd = os.open(self.path.parent / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _prepare(self) -> None:
        db = self._db
        (app_id,) = db.execute("PRAGMA application_id").fetchone()
        if app_id != APPLICATION_ID:
            (tables,) = db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if app_id or tables:
                raise StateFileError(
                    f"{self.path} is an SQLite database of another program; move it away or set PORTSIDE_HOME"
                )
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if app_id != APPLICATION_ID or version < SCHEMA_VERSION:
            with self._atomic():
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _atomic(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, serialised with every other writer on the machine."""
        with self._flock(), self._atomic() as db:
            yield db

    def read(self) -> sqlite3.Connection:
        """The connection for queries; in WAL mode readers never wait for writers."""
        return self._db


_open: dict[tuple[int, Path], Store] = {}


def open_store(directory: Path | None = None) -> Store:
    """The store under `directory` (default `state_dir()`), opened once per process."""
    where = (directory or state_dir()).absolute()
    key = (os.getpid(), where)
    store = _open.get(key)
    if store is None:
        store = _open[key] = Store(where)
    return store
