"""`portside kill`: frees ports held by processes these tests start, and refuses the dangerous."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from portside.inventory import inventory
from portside.inventory.match import matching
from portside.process import kill as killing


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_kill_frees_port_of_parent_and_forked_child(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0", fork=True)
    result = cli("kill", str(held.port), "--yes", "--json")
    assert result.status == 0, result.stderr
    data = result.json()
    assert data["freed"] is True
    assert sorted(s["pid"] for s in data["signalled"]) == sorted([held.pid, held.child])
    assert {s["signal"] for s in data["signalled"]} == {"SIGTERM"}
    assert not alive(held.child)
    held.proc.wait(5)
    assert held.proc.returncode == -15


def test_term_ignoring_process_survives_without_force(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0", ignore_term=True)
    result = cli("kill", str(held.port), "--timeout", "0.3")
    assert result.status == 1
    assert "still held by pid" in result.stderr and "--force" in result.stderr
    assert alive(held.pid)
    forced = cli("kill", str(held.port), "--timeout", "2", "--force")
    assert forced.status == 0, forced.stderr
    assert f"sent SIGKILL to pid {held.pid}" in forced.stdout
    assert f"port {held.port} is free" in forced.stdout
    held.proc.wait(5)
    assert held.proc.returncode == -9


def test_kill_leaves_clients_alone(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0")
    with socket.create_connection(("127.0.0.1", held.port)):
        result = cli("kill", f"127.0.0.1:{held.port}", "--json")
    assert result.status == 0
    assert [s["pid"] for s in result.json()["signalled"]] == [held.pid]
    assert alive(os.getpid())


def test_dry_run_signals_no_one(cli, hold) -> None:
    held = hold("udp:127.0.0.1:0")
    result = cli("kill", str(held.port), "--dry-run")
    assert result.status == 0
    assert f"pid {held.pid}" in result.stdout
    assert alive(held.pid)


def test_terminal_asks_and_no_means_no(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0")
    result = cli("kill", str(held.port), stdin="n\n", tty=True)
    assert result.status == 1
    assert "proceed? [y/N]" in result.stdout
    assert alive(held.pid)
    assert cli("kill", str(held.port), stdin="y\n", tty=True).status == 0
    assert not alive(held.pid)


def test_free_port_is_nothing_to_do(cli) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        result = cli("kill", f"127.0.0.1:{port}")
    assert result.status == 0
    assert "nothing to kill" in result.stdout


def test_refuses_to_signal_itself(cli) -> None:
    with socket.socket() as mine:
        mine.bind(("127.0.0.1", 0))
        mine.listen()
        port = mine.getsockname()[1]
        result = cli("kill", str(port), "--yes")
    assert result.status == 2
    assert f"refusing to signal pid {os.getpid()}" in result.stderr


def test_refuses_to_signal_a_parent(tmp_path) -> None:
    """A parent holding the port is refused even when the kill runs in its child."""
    script = (
        "import socket, subprocess, sys\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); s.set_inheritable(True)\n"
        "r = subprocess.run([sys.executable, '-m', 'portside', 'kill', str(s.getsockname()[1]), '--yes'],"
        " capture_output=True, text=True, check=False)\n"
        "print(r.returncode); print(r.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False).stdout
    status, message = out.split("\n", 1)
    assert status == "2"
    assert "refusing to signal pid" in message and "parents" in message


def test_protected_pids_are_init_this_process_and_its_parents() -> None:
    """Read from this machine's /proc; what `plan` does with them is tests/unit/test_kill_plan.py."""
    chain, pid = {1, os.getpid()}, os.getppid()
    while pid > 1:
        chain.add(pid)
        with open(f"/proc/{pid}/stat") as stat:
            pid = int(stat.read().rsplit(")", 1)[1].split()[1])
    assert killing.protected_pids() == chain


def test_reused_pid_is_never_signalled(hold) -> None:
    """A victim recorded with another start time (as after pid reuse) is skipped, not signalled."""
    held = hold("tcp:127.0.0.1:0")
    (listener,) = [item for item in matching(inventory().listeners, held.port, None) if item.processes]
    (info,) = listener.processes
    stale = info._replace(start_ticks=(info.start_ticks or 0) + 1)
    plan = killing.KillPlan(listeners=(listener,), victims=(stale,))
    result = killing.terminate(plan, still_held=lambda: True, timeout=0.2)
    assert result.signalled == () and result.vanished == (stale,)
    time.sleep(0.1)
    assert alive(held.pid)


def test_port_held_by_an_invisible_owner_is_not_signalled(cli) -> None:
    """A listener whose owner cannot be seen (this machine's sandbox init) is reported, never signalled."""
    hidden = [item for item in inventory().listeners if not item.processes and item.protocol == "tcp"]
    if not hidden:
        pytest.skip("no listener with an invisible owner on this machine")
    result = cli("kill", str(hidden[0].port), "--dry-run")
    assert result.status == 1
    assert "cannot see" in result.stderr
