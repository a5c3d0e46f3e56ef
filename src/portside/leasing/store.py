"""The embedded store: one SQLite file (WAL) holding leases, remembered names and routes.

Writers serialise on an advisory `flock` of a sibling lock file before `BEGIN IMMEDIATE`:
the kernel queues them and wakes the next at once, where SQLite's own busy handler would
sleep and retry. Opening takes the `flock` only when the file is not yet a store of this
schema in WAL mode (new, or older); a ready store is opened without it. Both locks die
with their holder, and a transaction either commits whole or not at all, so a `kill -9`
at any moment leaves the store as it was or as it became.
Commits are not fsynced (`synchronous=NORMAL`): that survives any process crash, and a
power cut only loses the last leases, whose owners died with the machine anyway. The
checkpoints that copy the log into the file (and fsync both) run after the writer's
`flock` is released, never inside a transaction where every other writer would wait.

The state directory is checked before use (statefiles.py: the caller's own, writable by
no one else), and so is every file of the store: a link, a directory or a FIFO where the
store, its lock, its log or its shared memory belongs is refused before SQLite opens it.
A file that is not SQLite, or an SQLite database of another program, is refused before
anything is written to it. Where the store meets the filesystem, failures (a read-only or
full disk) become one `StateDirError` naming the file, and a failed write rolls back
whole. When the caller may not write the store (a read-only file system or directory, an
immutable file) it still reads, and writes are refused with the reason and the fix.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from portside.errors import StateDirError, StateFileError
from portside.leasing.statefiles import MOVE_ON, SAFE, check_owner, disk_state, open_regular, refuse_odd, unwritable

try:
    import fcntl
except ImportError:  # Windows: SQLite's own locking and busy timeout serialise writers.
    fcntl = None  # type: ignore[assignment]

FILE_NAME = "state.db"
LOCK_NAME = "state.lock"
SIDE_FILES = ("-wal", "-shm", "-journal")  # what SQLite keeps beside the store
APPLICATION_ID = 0x706F7274  # "port"
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000
WAL_FRAMES = 1000  # pages in the log, not yet in the file, that call for a checkpoint (SQLite's own default)
SHM_COUNTS = struct.Struct("=16xI76xI")  # the log index's mxFrame (at byte 16) and nBackfill (at byte 96)

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
# SQLite's primary result codes that report the filesystem rather than the database.
SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN = 3, 8, 10, 13, 14
FILESYSTEM_CODES = frozenset({SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN})


def state_dir() -> Path:
    """`$PORTSIDE_HOME`, else `$XDG_STATE_HOME/portside`, else `~/.local/state/portside`."""
    home = os.environ.get("PORTSIDE_HOME")
    if home:
        return Path(home)
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "portside"


def _unusable(path: Path, error: OSError | sqlite3.Error, action: str = "write") -> StateDirError:
    """The one-line error for a failure where the store meets the filesystem at `path`."""
    read_only, full = disk_state(path.parent)
    if isinstance(error, OSError):
        read_only = read_only or error.errno == errno.EROFS
        full = error.errno in (errno.ENOSPC, errno.EDQUOT)
        detail = error.strerror or str(error)
    else:
        code = error.sqlite_errorcode & 0xFF
        full = code == SQLITE_FULL or (full and code == SQLITE_IOERR)
        detail = str(error)
    full = full and not read_only
    reason = "the file system is read-only" if read_only else "the disk is full" if full else detail
    remedy = f"free some space or {MOVE_ON}" if full else MOVE_ON
    return StateDirError(f"cannot {action} {path}: {reason}; {remedy}")


@contextmanager
def _filesystem_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's reports of filesystem trouble (read-only, full, I/O) into `_unusable`; others pass."""
    try:
        yield
    except sqlite3.Error as error:
        if error.sqlite_errorcode & 0xFF in FILESYSTEM_CODES:
            raise _unusable(path, error) from None
        raise


def _check_header(path: Path) -> None:
    try:
        fd = open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    except OSError as error:
        raise _unusable(path, error, "read") from None
    with os.fdopen(fd, "rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if head and head != SQLITE_MAGIC:
        raise StateFileError(
            f"{path} is not a portside state file (not an SQLite database); move it away or set PORTSIDE_HOME"
        )


class Store:
    """An open state store; use `transaction()` to change it and `read()` to query it."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME
        self.shm = directory / (FILE_NAME + "-shm")
        self._shm_fd: int | None = None  # never closed while the connection lives (see _checkpoint)
        lock = directory / LOCK_NAME
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except FileExistsError:
            raise StateDirError(f"cannot create state directory {directory}: something that is not a directory is "
                                f"there; remove it or {MOVE_ON}") from None
        except OSError as error:
            raise _unusable(directory, error, "create state directory") from None
        check_owner(directory)
        files = (self.path, *(self.path.with_name(FILE_NAME + side) for side in SIDE_FILES), lock)
        for path in files:
            refuse_odd(path)
        _check_header(self.path)
        self._thread_lock = threading.Lock()
        # Why writes are refused, with the fix; None when they are not.
        self.read_only = next(filter(None, map(unwritable, (directory, *files))), None)
        self._lock_fd = None if self.read_only else self._make_files(lock)
        try:
            self._db = self._open()
        except BaseException:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
            raise

    def _make_files(self, lock: Path) -> int:
        """Make the store's file and its lock file (0600, never through links); the lock's fd."""
        try:
            os.close(open_regular(self.path, os.O_RDWR, create=True))
        except OSError as error:
            raise _unusable(self.path, error) from None
        try:
            return open_regular(lock, os.O_RDWR, create=True)
        except OSError as error:
            raise _unusable(lock, error) from None

    def _open(self) -> sqlite3.Connection:
        """The connection, with the schema in place; refuses files that are not portside's store."""
        db = self._connect()
        try:
            with _filesystem_errors(self.path):
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                db.execute("PRAGMA synchronous = NORMAL")
                db.execute("PRAGMA wal_autocheckpoint = 0")  # transaction() checkpoints, after the lock
                if not self._ready(db):
                    with self._thread_lock, self._flock():
                        self._prepare(db)
        except sqlite3.DatabaseError as error:
            db.close()
            raise StateFileError(f"{self.path} is not a usable portside state file ({error})") from None
        except BaseException:
            db.close()
            raise
        return db

    def _connect(self) -> sqlite3.Connection:
        """The file itself; when it may not be written, read-only, or an empty store where there is none.

        Read-only, SQLite still needs the shared-memory file, which it cannot make in a
        directory it may not write: then the file is opened immutable (its log is not read).
        """
        if not self.read_only:
            return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if not self.path.exists() or self.path.stat().st_size == 0:
            return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        uri = self.path.absolute().as_uri()
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA schema_version").fetchone()
        except sqlite3.OperationalError:
            db.close()
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None, check_same_thread=False)
        return db

    @contextmanager
    def _flock(self) -> Iterator[None]:
        if fcntl is not None and self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None and self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the lock file `name` beside the store (not the store's own): one holder on the machine at a time."""
        lock = self.path.parent / name
        try:
            fd = open_regular(lock, os.O_RDWR, create=True)
        except OSError as error:
            raise _unusable(lock, error) from None
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @staticmethod
    def _ready(db: sqlite3.Connection) -> bool:
        """Whether the file is portside's store, in WAL mode and of this schema: then opening takes no lock."""
        (app_id,) = db.execute("PRAGMA application_id").fetchone()
        (version,) = db.execute("PRAGMA user_version").fetchone()
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
        return bool(app_id == APPLICATION_ID and version >= SCHEMA_VERSION and mode == "wal")

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Make the file portside's store (WAL, this schema) under the lock; refuse another program's."""
        (app_id,) = db.execute("PRAGMA application_id").fetchone()
        if app_id != APPLICATION_ID:
            (tables,) = db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if app_id or tables:
                raise StateFileError(
                    f"{self.path} is an SQLite database of another program; move it away or set PORTSIDE_HOME"
                )
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if app_id != APPLICATION_ID or version < SCHEMA_VERSION:
            with self._atomic(db):
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _atomic(self, db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (disk full, I/O error) may have rolled back already; then there is nothing to undo.
            if db.in_transaction:
                with suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, serialised with every other writer on the machine."""
        if self.read_only:
            raise StateDirError(f"cannot write {self.path}: {self.read_only}")
        with _filesystem_errors(self.path), self._thread_lock:
            with self._flock(), self._atomic(self._db) as db:
                yield db
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy the log into the file once WAL_FRAMES wait, without the lock: its fsyncs keep no writer waiting.

        The count is read from the header of the log's index (the `-shm` file; sqlite.org/walformat.html) through
        one descriptor kept open as long as the process: closing any descriptor of a file drops every POSIX lock
        the process holds on it, SQLite's included, and another process would then take the index for abandoned
        and reset it under this one's map (SIGBUS; sqlite.org/howtocorrupt.html, 2.2).
        PASSIVE: it neither waits for nor blocks readers and writers; with one already under way it does nothing.
        """
        if self._shm_fd is None:
            try:
                self._shm_fd = os.open(self.shm, os.O_RDONLY | SAFE)
            except OSError:
                return
        try:
            head = os.pread(self._shm_fd, SHM_COUNTS.size, 0)
        except OSError:
            return
        if len(head) == SHM_COUNTS.size:
            frames, copied = SHM_COUNTS.unpack(head)
            if frames - copied >= WAL_FRAMES:
                # The transaction has committed: a checkpoint that fails (a full disk) is retried by the next one,
                # as SQLite's own automatic checkpoints are.
                with suppress(sqlite3.Error):
                    self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Queries that all see one state of the store, without any lock (in WAL mode readers never wait)."""
        with _filesystem_errors(self.path), self._thread_lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")

    def read(self) -> sqlite3.Connection:
        """The connection for queries; in WAL mode readers never wait for writers."""
        return self._db

    def close(self) -> None:
        """Close the connection, then the descriptors kept beside it (the log index's last: see _checkpoint)."""
        self._db.close()
        for fd in (self._lock_fd, self._shm_fd):
            if fd is not None:
                os.close(fd)
        self._lock_fd = self._shm_fd = None


_open: dict[tuple[int, Path], Store] = {}


def close_stores(under: Path) -> None:
    """Close the stores this process opened with `open_store` in `under` or below it: a host that moves between
    state directories (a test run setting PORTSIDE_HOME per test) would otherwise keep each one's files open."""
    for key in [key for key in _open if key[0] == os.getpid() and key[1].is_relative_to(under.absolute())]:
        _open.pop(key).close()


def open_store(directory: Path | None = None) -> Store:
    """The store under `directory` (default `state_dir()`), opened once per process."""
    where = (directory or state_dir()).absolute()
    key = (os.getpid(), where)
    store = _open.get(key)
    if store is None:
        store = _open[key] = Store(where)
    return store
