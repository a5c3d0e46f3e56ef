"""`portside run` keeps what its command daemonised (fork, setsid, fork again) and stops it: real daemons, real ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from support import HERE, HOLDER, Held, get

from portside import listeners
from portside.inventory import process_state
from portside.router.registry import routes

DAEMON = str(HERE / "daemon.py")


@pytest.fixture
def info_file(tmp_path: Path) -> Iterator[Path]:
    """Where daemon.py says who it is; a daemon that outlived its test is killed afterwards (by pidfd, if still ours)."""
    path = tmp_path / "daemon.json"
    yield path
    if not path.exists():
        return
    info = json.loads(path.read_text())
    for pid in (info["server"], info["parent"]):
        with suppress(OSError):
            pidfd = os.pidfd_open(pid)
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                ours = DAEMON.encode() in cmdline.read()
            if ours:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            os.close(pidfd)


def info_of(path: Path) -> dict[str, Any]:
    """What daemon.py wrote once its server listened."""
    deadline = time.monotonic() + 10
    while not path.exists():
        assert time.monotonic() < deadline, "the daemon never listened"
        time.sleep(0.05)
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def gone(pid: int) -> bool:
    return process_state(pid) in (None, "Z")


def free(port: int) -> bool:
    """No socket listens on `port` (a bind test would also fail on the TIME_WAIT the proxy's requests leave)."""
    return not [item for item in listeners() if item.port == port]


def settled(check: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_command_that_daemonised_is_reported_and_its_daemon_stopped(proxy_port: int, info_file: Path) -> None:
    ran = subprocess.run([sys.executable, "-m", "portside", "run", "dmn", "--",
                          sys.executable, DAEMON, "exit", "{port}", str(info_file)],
                         capture_output=True, text=True, timeout=30, check=False)
    info = info_of(info_file)
    daemon, port = info["server"], info["port"]
    reports = [line for line in ran.stderr.splitlines() if "left" in line]
    assert ran.returncode == 1, ran.stderr
    assert ran.stdout.startswith("http://dmn.localhost:"), "the daemon answered, so the URL came first"
    assert len(reports) == 1 and f"pid {daemon} " in reports[0] and f"port {port}" in reports[0], ran.stderr
    assert "exited with status 0" in reports[0]
    assert gone(daemon) and free(port)
    assert "still held" not in ran.stderr
    assert routes() == []


def test_ctrl_c_stops_the_command_and_the_daemon_it_detached(start_run, proxy_port: int, info_file: Path) -> None:
    app = start_run("dmn", sys.executable, DAEMON, "stay", "{port}", str(info_file))
    info = info_of(info_file)
    assert get(proxy_port, "dmn.localhost")[0] == 200
    assert not gone(info["parent"]) and not gone(info["server"])
    app.proc.send_signal(signal.SIGINT)
    assert app.proc.wait(20) == 128 + signal.SIGINT
    assert gone(info["parent"]) and gone(info["server"]) and free(info["port"])
    assert app.proc.stderr is not None
    assert "still held" not in app.proc.stderr.read()


def test_kill_9_of_run_the_guard_stops_the_setsid_child_too(start_run, proxy_port: int, info_file: Path) -> None:
    app = start_run("dmn", sys.executable, DAEMON, "setsid", "{port}", str(info_file))
    info = info_of(info_file)
    assert os.getsid(info["server"]) == info["server"] != os.getsid(info["parent"])
    os.kill(app.proc.pid, signal.SIGKILL)
    app.proc.wait(10)
    assert settled(lambda: gone(info["server"]) and gone(info["parent"])), "the setsid'd server outlived run"
    assert settled(lambda: free(info["port"]))


def test_a_port_still_held_after_the_stop_is_said(start_run, proxy_port: int, hold: Callable[..., Held]) -> None:
    app = start_run("dmn", sys.executable, HOLDER, "tcp:127.0.0.1:{port}:reuseport")
    (route,) = routes()
    stranger = hold(f"tcp:127.0.0.1:{route.port}:reuseport")  # not under run: run must leave it alone, and say so
    app.proc.send_signal(signal.SIGINT)
    assert app.proc.wait(20) == 128 + signal.SIGINT
    assert app.proc.stderr is not None
    said = [line for line in app.proc.stderr.read().splitlines() if "still held" in line]
    assert len(said) == 1 and said[0].startswith(f"portside: port {route.port} is still held by pid {stranger.pid} ("), said
    assert not gone(stranger.pid)
