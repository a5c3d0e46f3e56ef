"""A state dir in a bad state gets one line on stderr and exit 2, never a traceback, and its store survives.

Each case builds the real state and runs the real CLI: a directory where the lock file
belongs; a tmpfs as PORTSIDE_HOME (mode 700: a state dir others may write is refused),
remounted read-only or filled to the brim, inside a private mount namespace
(`unshare --mount`) so nothing outside the test sees it. A full
disk is exit 2, like a read-only one: the check did not say no, the state dir cannot be
written, and the fix (free space, or another PORTSIDE_HOME) is the user's.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from statehome import assert_one_line, in_mount_namespace, leased, portside

# Another process with the store open (as `portside run` keeps it): its -shm file exists, so SQLite opens the
# store on the full disk and fails at the write instead.
READER = ("import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1]); db.execute('SELECT * FROM leases').fetchall(); "
          "print('open', flush=True); time.sleep(30)")


def test_lock_file_that_is_a_directory(tmp_path: Path) -> None:
    home = tmp_path / "state"
    port = int(portside(home, "pick", "--ttl", "1h").stdout)
    lock = home / "state.lock"
    lock.unlink()
    lock.mkdir()
    for verb in ("pick", "leases"):
        assert_one_line(portside(home, verb), f"{lock} is a directory", "remove it")
    lock.rmdir()
    assert leased(portside(home, "leases", "--json")) == [port]
    assert sqlite3.connect(home / "state.db").execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_read_only_store_reads_and_refuses_writes(tmp_path: Path) -> None:
    steps = in_mount_namespace(tmp_path, """
mount -t tmpfs -o size=1m,mode=700 portside-test "$HOME_DIR"
step first pick --ttl 1h
mount -o remount,ro "$HOME_DIR"
step leases leases --json
step pick pick
step release release "$(cat "$OUT/first.out")"
mount -o remount,rw "$HOME_DIR"
step after leases --json
integrity "$HOME_DIR/state.db" after
mkdir "$HOME_DIR/empty" && mount -t tmpfs -o ro,mode=700 portside-test "$HOME_DIR/empty"
PORTSIDE_HOME="$HOME_DIR/empty" step empty_leases leases --json
PORTSIDE_HOME="$HOME_DIR/empty" step empty_pick pick
""")
    port = int(steps["first"].stdout)
    state = tmp_path / "home" / "state.db"
    assert leased(steps["leases"]) == [port]
    for verb in ("pick", "release"):
        assert_one_line(steps[verb], f"cannot write {state}: the file system is read-only", "PORTSIDE_HOME")
    assert leased(steps["after"]) == [port]
    assert steps["after.integrity"].stdout == "ok"
    assert leased(steps["empty_leases"]) == []
    assert_one_line(steps["empty_pick"], "the file system is read-only")


def test_full_disk_refuses_pick_and_keeps_the_store(tmp_path: Path) -> None:
    steps = in_mount_namespace(tmp_path, """
mount -t tmpfs -o size=1m,mode=700 portside-test "$HOME_DIR"
step first pick --ttl 1h
cat /dev/zero >"$HOME_DIR/filler" 2>/dev/null || true
step pick pick
rm "$HOME_DIR/filler"
"$PY" -c "$READER" "$HOME_DIR/state.db" >"$OUT/reader" &
reader=$!
for _ in $(seq 600); do [ -s "$OUT/reader" ] && break; sleep 0.05; done
cat /dev/zero >"$HOME_DIR/filler" 2>/dev/null || true
step while_open pick --name api
kill "$reader"
rm "$HOME_DIR/filler"
step after leases --json
integrity "$HOME_DIR/state.db" after
""", READER=READER)
    port = int(steps["first"].stdout)
    state = tmp_path / "home" / "state.db"
    for step in ("pick", "while_open"):
        assert_one_line(steps[step], f"cannot write {state}: the disk is full", "free some space")
    assert leased(steps["after"]) == [port]
    assert steps["after.integrity"].stdout == "ok"
