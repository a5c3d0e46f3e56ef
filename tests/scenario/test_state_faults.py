"""The state dir on its bad days, each built for real: the CLI says one line and exits 2, never hangs, and the store
survives.

A FIFO, a directory, a socket or a symbolic link where the store, its lock, its log or its
shared memory belongs; a state dir that another user owns or others may write; files made
immutable (`chattr +i`, on an ext4 image mounted in a private mount namespace so that no
immutable file outlives the test); a read-only bind mount; a non-root caller whose state
dir is read-only to it; the disk filling up at every point of a commit. Where the store
can still be read, read verbs work and only writes are refused, with the reason and the fix.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from statehome import STEP_TIMEOUT, Step, assert_one_line, in_mount_namespace, leased, portside
from support import SRC

SYSTEM_PYTHON = "/usr/bin/python3"
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
VICTIM = b"not portside's\n"


def store_with_a_lease(home: Path) -> int:
    """A store under `home` holding one lease; its port."""
    picked = portside(home, "pick", "--ttl", "1h")
    assert picked.status == 0, picked.stderr
    return int(picked.stdout)


def assert_intact(home: Path, port: int) -> None:
    """The store still holds the lease on `port`, passes SQLite's integrity check, and takes a new lease."""
    assert leased(portside(home, "leases", "--json")) == [port]
    assert sqlite3.connect(home / "state.db").execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert portside(home, "pick").status == 0


def make_fifo(path: Path) -> None:
    os.mkfifo(path, 0o600)


def make_directory(path: Path) -> None:
    path.mkdir()


def make_socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as unix:
        unix.bind(str(path))


def make_link(path: Path) -> None:
    path.symlink_to(path.parent.parent / "victim")


KINDS: dict[str, tuple[Callable[[Path], None], str]] = {
    "fifo": (make_fifo, "is a FIFO"),
    "directory": (make_directory, "is a directory"),
    "socket": (make_socket, "is a socket"),
    "link": (make_link, "is a symbolic link"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("name", ["state.db", "state.db-wal", "state.db-shm", "state.lock"])
def test_a_file_of_the_store_that_is_not_a_file_is_refused(tmp_path: Path, name: str, kind: str) -> None:
    home = tmp_path / "state"
    port = store_with_a_lease(home)
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM)
    path = home / name
    aside = tmp_path / "aside"
    if path.exists():
        path.rename(aside)
    make, says = KINDS[kind]
    make(path)
    for verb in ("leases", "pick"):  # a reader and a writer: both open the store first
        assert_one_line(portside(home, verb), f"{path} {says}, where portside keeps a file", "remove it")
    assert victim.read_bytes() == VICTIM
    if kind == "directory":
        path.rmdir()
    else:
        path.unlink()
    if aside.exists():
        aside.rename(path)
    assert_intact(home, port)


def test_a_link_to_nowhere_is_not_followed(tmp_path: Path) -> None:
    home = tmp_path / "state"
    home.mkdir(mode=0o700)
    (home / "state.lock").symlink_to(tmp_path / "made-through-the-link")
    assert_one_line(portside(home, "pick"), "state.lock is a symbolic link")
    assert not (tmp_path / "made-through-the-link").exists()
    assert not (home / "state.db").exists() or (home / "state.db").stat().st_size == 0


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o770, 0o702])
def test_a_state_dir_others_may_write_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    home = tmp_path / "state"
    port = store_with_a_lease(home)
    home.chmod(mode)
    for verb in ("leases", "pick"):
        assert_one_line(portside(home, verb), f"{home} is writable by", f"(mode {mode:04o})", f"run `chmod 700 {home}`")
    home.chmod(0o700)
    assert_intact(home, port)


@pytest.mark.root
def test_root_refuses_a_state_dir_of_another_user(tmp_path: Path) -> None:
    home = tmp_path / "state"
    port = store_with_a_lease(home)
    os.chown(home, 65534, 65534)
    for verb in ("leases", "pick"):
        assert_one_line(portside(home, verb), f"{home} belongs to user nobody, not to user root",
                        "PORTSIDE_HOME to a directory of your own")
    os.chown(home, 0, 0)
    assert_intact(home, port)


def as_nobody(home: Path, *argv: str) -> Step:
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "PORTSIDE_HOME": str(home)}
    out = subprocess.run([*AS_NOBODY, SYSTEM_PYTHON, "-m", "portside", *argv], capture_output=True, text=True,
                         env=env, timeout=STEP_TIMEOUT, check=False)
    return Step(out.returncode, out.stdout, out.stderr)


@pytest.mark.root
@pytest.mark.skipif(shutil.which("setpriv") is None or not os.access(SYSTEM_PYTHON, os.X_OK),
                    reason="needs setpriv (util-linux) and /usr/bin/python3 to run as nobody")
def test_a_non_root_caller_reads_a_store_it_may_not_write_and_refuses_one_of_root() -> None:
    with tempfile.TemporaryDirectory(prefix="portside-nobody-") as where:  # in /tmp: pytest's tmp_path is root's only
        check_nobody(Path(where))


def check_nobody(where: Path) -> None:
    where.chmod(0o755)
    root_home = where / "roots"
    store_with_a_lease(root_home)
    root_home.chmod(0o755)
    assert_one_line(as_nobody(root_home, "leases"), f"{root_home} belongs to user root, not to user nobody")

    home = where / "nobodys"
    home.mkdir(mode=0o700)
    os.chown(home, 65534, 65534)
    picked = as_nobody(home, "pick", "--ttl", "1h")
    assert picked.status == 0, picked.stderr
    home.chmod(0o500)
    assert leased(as_nobody(home, "leases", "--json")) == [int(picked.stdout)]
    assert_one_line(as_nobody(home, "pick"), f"cannot write {home / 'state.db'}: {home} is read-only (mode 0500)",
                    f"run `chmod u+w {home}`")
    home.chmod(0o700)
    assert as_nobody(home, "pick").status == 0


def test_a_read_only_bind_mount_reads_and_refuses_writes(tmp_path: Path) -> None:
    steps = in_mount_namespace(tmp_path, """
step first pick --ttl 1h --name api
mount --bind "$HOME_DIR" "$HOME_DIR"
mount -o remount,bind,ro "$HOME_DIR"
step leases leases --json
step pick pick
step release release api
umount "$HOME_DIR"
step after leases --json
integrity "$HOME_DIR/state.db" after
""")
    port = int(steps["first"].stdout)
    assert leased(steps["leases"]) == [port]
    for verb in ("pick", "release"):
        assert_one_line(steps[verb], "the file system is read-only", "PORTSIDE_HOME")
    assert leased(steps["after"]) == [port]
    assert steps["after.integrity"].stdout == "ok"


EXT4_HOME = """
truncate -s 8M "$TMP/ext4.img"
mkfs.ext4 -q -F "$TMP/ext4.img" >/dev/null 2>&1 || skip "mkfs.ext4 cannot make an ext4 image"
mount -o loop "$TMP/ext4.img" "$HOME_DIR" 2>/dev/null || skip "cannot mount an ext4 image on a loop device"
chmod 700 "$HOME_DIR"
"""


@pytest.mark.parametrize("target", ["state.lock", "state.db", "."])
def test_an_immutable_file_or_dir_reads_and_refuses_writes_naming_chattr(tmp_path: Path, target: str) -> None:
    steps = in_mount_namespace(tmp_path, EXT4_HOME + """
step first pick --ttl 1h --name api
chattr +i "$HOME_DIR/$TARGET"
step leases leases --json
step pick pick
step release release api
chattr -i "$HOME_DIR/$TARGET"
step after leases --json
step again pick
integrity "$HOME_DIR/state.db" after
umount "$HOME_DIR"
""", TARGET=target)
    port = int(steps["first"].stdout)
    immutable = tmp_path / "home" / target if target != "." else tmp_path / "home"
    assert leased(steps["leases"]) == [port]
    for verb in ("pick", "release"):
        assert_one_line(steps[verb], f"{immutable} is immutable or append-only", f"run `chattr -ia {immutable}`")
    assert leased(steps["after"]) == [port]
    assert steps["again"].status == 0
    assert steps["after.integrity"].stdout == "ok"


def test_the_disk_filling_at_every_point_of_a_commit(tmp_path: Path) -> None:
    """With 0, 1, 2, ... pages of the disk left, `pick` either leases or says the disk is full, and the store then
    holds exactly the leases granted."""
    steps = in_mount_namespace(tmp_path, """
mount -t tmpfs -o size=1m,mode=700 portside-test "$HOME_DIR"
step first pick --ttl 1h
for pages in $(seq 0 16); do
  cat /dev/zero >"$HOME_DIR/filler" 2>/dev/null || true
  truncate -s "-$((pages * 4096))" "$HOME_DIR/filler"
  step "pick-$pages" pick --ttl 1h --name "n$pages"
  rm "$HOME_DIR/filler"
  step "leases-$pages" leases --json
done
step after leases --json
integrity "$HOME_DIR/state.db" after
""")
    held = [int(steps["first"].stdout)]
    refused = granted = 0
    for pages in range(17):
        pick = steps[f"pick-{pages}"]
        if pick.status == 0:
            held.append(int(pick.stdout))
            granted += 1
        else:
            assert_one_line(pick, "the disk is full", "free some space")
            refused += 1
        assert sorted(leased(steps[f"leases-{pages}"])) == sorted(held), pages
    assert refused and granted, "the sweep never crossed from a full disk to enough room"
    assert sorted(leased(steps["after"])) == sorted(held)
    assert steps["after.integrity"].stdout == "ok"


def test_wait_on_a_scoped_loopback_address_is_a_timeout_not_a_bug(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET6) as closed:
        closed.bind(("::1", 0))
        port = closed.getsockname()[1]
    done = portside(tmp_path / "state", "wait", f"[::1%lo]:{port}", "--timeout", "300ms")
    assert done.status == 1, done
    assert done.stderr.count("\n") == 1 and "timed out" in done.stderr


def test_the_ca_key_is_never_written_through_a_link(state_home: Path, tmp_path: Path) -> None:
    """A link where the CA's key is first written (its temporary file) is refused; the file it points to is untouched."""
    from portside.errors import StateDirError
    from portside.router.tls.localca import ensure_ca

    tls = state_home / "tls"
    state_home.mkdir(mode=0o700)
    tls.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM)
    (tls / f".ca-key.pem.{os.getpid()}.tmp").symlink_to(victim)
    with pytest.raises(StateDirError, match="is a symbolic link"):
        ensure_ca()
    assert victim.read_bytes() == VICTIM
    assert not (tls / "ca-key.pem").exists()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_proxys_record_and_log_are_files_or_refused(tmp_path: Path, kind: str) -> None:
    home = tmp_path / "state"
    store_with_a_lease(home)
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM)
    make, says = KINDS[kind]
    make(home / "proxy.json")  # a reader never blocks on it, nor follows it: no proxy runs
    status = portside(home, "proxy", "status")
    assert (status.status, status.stdout) == (0, "proxy not running\n"), status
    make(home / "proxy.log")  # the log a start appends to: refused before anything starts
    assert_one_line(portside(home, "proxy", "start", "--port", "1"), f"{home / 'proxy.log'} {says}", "remove it")
    assert victim.read_bytes() == VICTIM
