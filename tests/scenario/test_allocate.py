"""`pick`, `leases`, `release`: real binds, real processes owning leases, real kill -9."""

from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from support import unleased_port

from portside.leasing import kernel_ports
from portside.leasing.allocate import bindable, leases, pick, release
from portside.leasing.liveness import start_token
from portside.leasing.pool import EmptyPool, PortRange
from portside.leasing.statefiles import unwritable
from portside.leasing.store import SHM_COUNTS, WAL_FRAMES
from portside.model import Protocol

PICKER = str(Path(__file__).with_name("picker.py"))
PORTSIDE = str(Path(sys.executable).with_name("portside"))


class Picker:
    """A picker.py process: it owns the leases it took until its stdin closes."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, PICKER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"picker {args} failed"
        data = json.loads(line)
        self.pid: int = data["pid"]
        self.ports: list[int] = data["ports"]

    def end(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def pickers() -> Iterator[list[Picker]]:
    started: list[Picker] = []
    yield started
    for each in started:
        if each.proc.poll() is None:
            each.kill9()


ADDRESSES = [
    (socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::1"), (socket.AF_INET6, "::"),
]


@pytest.mark.parametrize("reuse", [False, True])
def test_picked_ports_are_outside_the_kernel_range_and_bind_everywhere(reuse: bool) -> None:
    kernel = kernel_ports()
    for lease in pick(20):
        assert 49152 <= lease.port <= 65535
        assert lease.port not in kernel.ephemeral and lease.port not in kernel.reserved
        for family, address in ADDRESSES:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                if reuse:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address, lease.port))
                sock.listen()


def test_udp_pick_binds_udp_everywhere() -> None:
    (lease,) = pick(protocol=Protocol.UDP)
    assert lease.protocol is Protocol.UDP
    for family, address in ADDRESSES:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.bind((address, lease.port))


@pytest.mark.parametrize("spec", [
    "tcp:127.0.0.1:{}", "tcp:127.0.0.2:{}", "tcp:0.0.0.0:{}", "tcp:[::1]:{}", "tcp:[::]:{}:v6only", "tcp:[::]:{}:dual",
])
def test_a_port_held_on_any_address_is_never_picked(cli, hold, spec: str) -> None:
    port = unleased_port()
    hold(spec.format(port))
    assert not bindable(port)
    result = cli("pick", "--range", str(port))
    assert result.status == 1
    assert "0 leased, 1 in use by sockets" in result.stderr


def test_udp_holder_blocks_udp_pick_only(cli, hold) -> None:
    port = unleased_port()
    hold(f"udp:127.0.0.1:{port}")
    assert cli("pick", "--udp", "--range", str(port)).status == 1
    assert cli("pick", "--range", str(port)).stdout == f"{port}\n"


def test_a_leased_port_is_not_handed_out_again(cli) -> None:
    port = unleased_port()
    me = str(os.getpid())
    first = cli("pick", "--range", str(port), "--owner", me)
    assert first.stdout == f"{port}\n"
    again = cli("pick", "--range", str(port), "--owner", me)
    assert again.status == 1 and "1 leased, 0 in use" in again.stderr
    assert cli("release", str(port)).stdout == f"released {port}\n"
    assert cli("pick", "--range", str(port), "--owner", me).stdout == f"{port}\n"


@pytest.mark.root
def test_reserved_ports_of_the_kernel_are_skipped(state_home: Path) -> None:
    """Writing net.ipv4.ip_local_reserved_ports needs root."""
    knob = Path("/proc/sys/net/ipv4/ip_local_reserved_ports")
    before = knob.read_text()
    port = unleased_port()
    try:
        knob.write_text(f"{port}\n")
        with pytest.raises(EmptyPool):
            pick(port_range=PortRange(port, port))
        others = pick(3, port_range=PortRange(port - 1, port + 2))
        assert port not in [lease.port for lease in others]
    finally:
        knob.write_text(before if before.strip() else "\n")


def test_parallel_pickers_never_share_a_port(pickers: list[Picker]) -> None:
    for _ in range(8):
        pickers.append(Picker("--count", "40", "--bind"))
    ports = [port for each in pickers for port in each.ports]
    assert len(ports) == 320 and len(set(ports)) == 320


def test_named_port_is_stable_and_comes_back_after_kill_9(pickers: list[Picker]) -> None:
    owner = Picker("--name", "api")
    pickers.append(owner)
    (port,) = owner.ports
    with pytest.raises(Exception, match=rf"name 'api' is leased to pid {owner.pid} \(port {port}\)"):
        pick(names=["api"])
    owner.kill9()
    (lease,) = pick(names=["api"])
    assert lease.port == port and lease.owner_pid == os.getpid()
    assert pick(names=["api"]) == [lease]


def test_dead_owners_leases_are_reclaimed_on_contact(pickers: list[Picker]) -> None:
    owner = Picker("--count", "3")
    pickers.append(owner)
    owner.kill9()
    states = {state.lease.port: state.alive for state in leases()}
    assert states == {port: False for port in owner.ports}
    for port in owner.ports:
        (lease,) = pick(port_range=PortRange(port, port))
        assert lease.owner_pid == os.getpid()


def test_named_port_taken_by_someone_else_moves_and_is_remembered(cli, hold) -> None:
    me = str(os.getpid())
    first = int(cli("pick", "--name", "web", "--owner", me).stdout)
    cli("release", "web")
    held = hold(f"tcp:127.0.0.1:{first}")
    moved = int(cli("pick", "--name", "web", "--owner", me).stdout)
    assert moved != first
    cli("release", "web")
    held.proc.kill()
    held.proc.wait()
    assert int(cli("pick", "--name", "web", "--owner", me).stdout) == moved


def test_ttl_ends_a_lease(cli) -> None:
    port = unleased_port()
    me = str(os.getpid())
    leased = cli("pick", "--range", str(port), "--ttl", "300ms", "--owner", me, "--json").json()
    (entry,) = leased["ports"]
    assert entry["expires"] == pytest.approx(time.time() + 0.3, abs=0.2)
    assert cli("pick", "--range", str(port), "--owner", me).status == 1
    time.sleep(0.35)
    assert cli("pick", "--range", str(port), "--owner", me).stdout == f"{port}\n"


def test_cli_lease_belongs_to_the_calling_shell() -> None:
    shell = subprocess.Popen(
        ["bash", "-c", f'PORT=$("{PORTSIDE}" pick); echo "$PORT $$"; read line'],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert shell.stdout is not None and shell.stdin is not None
    port_text, shell_pid = shell.stdout.readline().split()
    (state,) = leases()
    assert state.lease.port == int(port_text) and state.lease.owner_pid == int(shell_pid) and state.alive
    shell.stdin.close()
    shell.wait(10)
    (state,) = leases()
    assert not state.alive


def test_json_keys_and_leases_listing(cli) -> None:
    me = str(os.getpid())
    data = cli("pick", "--name", "api", "--name", "db", "--owner", me, "--json").json()
    assert [sorted(entry) for entry in data["ports"]] == [
        ["created", "expires", "name", "owner_pid", "port", "protocol"]
    ] * 2
    assert [entry["name"] for entry in data["ports"]] == ["api", "db"]
    assert {entry["owner_pid"] for entry in data["ports"]} == {os.getpid()}
    listed = cli("leases", "--json").json()["leases"]
    assert {(entry["port"], entry["name"], entry["alive"]) for entry in listed} == {
        (entry["port"], entry["name"], True) for entry in data["ports"]
    }
    table = cli("leases").stdout.splitlines()
    assert table[0].split() == ["PORT", "PROTO", "NAME", "OWNER", "AGE", "EXPIRES", "IN", "ALIVE"]
    assert any(line.split()[2] == "api" and line.split()[-1] == "yes" for line in table[1:])
    released = cli("release", "db", "--json").json()["released"]
    assert [entry["name"] for entry in released] == ["db"]


def test_a_state_file_that_is_not_sqlite_is_refused_untouched(cli, state_home: Path) -> None:
    state_home.mkdir()
    garbage = b"this is my shopping list, not a database\n" * 10
    (state_home / "state.db").write_bytes(garbage)
    for args in (["pick"], ["leases"], ["release", "api"]):
        result = cli(*args)
        assert result.status == 2 and "not a portside state file (not an SQLite database)" in result.stderr
    assert (state_home / "state.db").read_bytes() == garbage


def test_another_programs_sqlite_database_is_refused_untouched(cli, state_home: Path) -> None:
    state_home.mkdir()
    path = state_home / "state.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE recipes (name TEXT)")
        db.execute("INSERT INTO recipes VALUES ('bread')")
    db.close()
    before = path.read_bytes()
    result = cli("pick")
    assert result.status == 2 and "an SQLite database of another program" in result.stderr
    assert path.read_bytes() == before


def test_state_dir_that_is_a_file_is_refused(cli, state_home: Path) -> None:
    state_home.write_text("x")
    result = cli("pick")
    assert result.status == 2 and "cannot create state directory" in result.stderr
    assert state_home.read_text() == "x"


def test_kill_9_at_any_moment_never_corrupts_the_store(state_home: Path) -> None:
    """Processes pick and release in a loop and are killed at random moments, many times over."""
    rng = random.Random(7)
    (mine,) = pick()  # create the store before the churn starts
    for _ in range(8):
        churners = [
            subprocess.Popen([sys.executable, PICKER, "--churn"], stdout=subprocess.DEVNULL) for _ in range(4)
        ]
        time.sleep(rng.uniform(0.25, 0.5))
        for proc in churners:
            time.sleep(rng.uniform(0, 0.02))
            proc.send_signal(signal.SIGKILL)
        for proc in churners:
            proc.wait(10)
    with sqlite3.connect(state_home / "state.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT port, owner_pid FROM leases").fetchall()
        remembered = db.execute("SELECT count(*) FROM names").fetchone()[0]
    db.close()
    assert remembered == 3  # the churners did run
    assert all(not state.alive for state in leases() if state.lease != mine)
    names = {f"churn{turn}" for turn in range(3)}
    got = pick(names=sorted(names))
    assert {lease.name for lease in got} == names
    assert len({port for port, _ in rows}) == len(rows)


def test_store_has_its_files_only_where_asked(state_home: Path) -> None:
    pick()
    assert sorted(path.name for path in state_home.iterdir() if not path.name.startswith("state.db-")) == [
        "state.db", "state.lock"
    ]
    with sqlite3.connect(state_home / "state.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


@contextmanager
def store_lock(home: Path) -> Iterator[None]:
    """Hold the store's writer lock (its flock) the way another portside process would."""
    fd = os.open(home / "state.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def waits_for_a_flock(pid: int) -> bool:
    """Whether `pid` is queued for a flock (a `->` line of /proc/locks)."""
    with open("/proc/locks") as file:
        return any(f[1] == "->" and f[2] == "FLOCK" and int(f[5]) == pid for f in map(str.split, file))


def test_a_ready_store_opens_while_a_writer_holds_its_lock(state_home: Path) -> None:
    (mine,) = pick()
    with store_lock(state_home):
        listed = subprocess.run([PORTSIDE, "leases", "--json"], capture_output=True, text=True, timeout=10, check=True)
    assert [entry["port"] for entry in json.loads(listed.stdout)["leases"]] == [mine.port]


def test_a_port_leased_while_a_pick_waits_for_the_lock_is_passed_over(state_home: Path) -> None:
    """The waiting pick chose and test-bound the port before the lock; under it, it sees the new lease."""
    port = unleased_port()
    with store_lock(state_home):
        waiting = subprocess.Popen([PORTSIDE, "pick", "--range", str(port), "--owner", str(os.getpid())],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not waits_for_a_flock(waiting.pid) and waiting.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert waits_for_a_flock(waiting.pid)
        with sqlite3.connect(state_home / "state.db") as db:
            db.execute("INSERT INTO leases VALUES (?, 'tcp', NULL, ?, ?, ?, NULL)",
                       (port, os.getpid(), start_token(os.getpid()), time.time()))
        db.close()
    out, err = waiting.communicate(timeout=10)
    assert (waiting.returncode, out) == (1, "") and "1 leased, 0 in use by sockets" in err
    (state,) = leases()
    assert state.lease.port == port and state.alive


def test_a_due_sweep_drops_every_dead_owners_leases(pickers: list[Picker], state_home: Path) -> None:
    owner = Picker("--count", "3")
    pickers.append(owner)
    owner.kill9()
    with sqlite3.connect(state_home / "state.db") as db:
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('swept', 0)")
    db.close()
    (mine,) = pick()
    assert [state.lease for state in leases()] == [mine]


def test_the_log_is_copied_into_the_store_as_it_grows(state_home: Path) -> None:
    """SQLite's own checkpoints are off (they ran inside the lock); portside's keep the log under WAL_FRAMES pages."""
    for _ in range(400):
        (lease,) = pick()
        release(lease.port)
    frames, copied = SHM_COUNTS.unpack((state_home / "state.db-shm").read_bytes()[: SHM_COUNTS.size])
    assert frames - copied < WAL_FRAMES
    with sqlite3.connect(state_home / "state.db") as db:
        (page,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    assert (state_home / "state.db-wal").stat().st_size < (WAL_FRAMES + 100) * (page + 24)



def test_a_side_file_sqlite_makes_and_removes_meanwhile_is_no_reason_to_refuse_writes(state_home: Path) -> None:
    """Another process makes and removes `state.db-shm` over and over, as SQLite does; it never reads as read-only."""
    state_home.mkdir(mode=0o700)
    side = state_home / "state.db-shm"
    churn = (f"import os, time\nwhile True:\n    os.close(os.open({str(side)!r}, os.O_CREAT | os.O_RDWR, 0o600))\n"
             f"    time.sleep(0.0001)\n    os.unlink({str(side)!r})\n    time.sleep(0.002)\n")
    maker = subprocess.Popen([sys.executable, "-c", churn])
    try:
        time.sleep(0.3)
        reasons = {unwritable(side) for _ in range(20_000)}
    finally:
        maker.kill()
        maker.wait()
    assert reasons == {None}



WRITER = """
import sys, time
from pathlib import Path
from portside.leasing.allocate import pick, release
from portside.leasing.store import Store

store = Store(Path(sys.argv[1]))
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    (lease,) = pick(store=store)
    release(lease.port, store=store)
"""


def test_processes_opening_the_store_never_reset_a_writers_log_index(tmp_path: Path) -> None:
    """Writers loop on one store while new processes keep opening it. Closing any descriptor of the log index
    (-shm) drops the process's POSIX locks on it, SQLite's too; a process opening the store then takes the index
    for abandoned and truncates it under the writers' maps, and a writer dies of SIGBUS (seen in CI)."""
    home = str(tmp_path / "state")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, home, "3"]) for _ in range(3)]
    try:
        began = time.monotonic()
        while time.monotonic() - began < 2.5:
            subprocess.run([sys.executable, "-c", WRITER, home, "0.05"], check=True, timeout=30)
    finally:
        codes = [writer.wait(30) for writer in writers]
    assert codes == [0, 0, 0]
