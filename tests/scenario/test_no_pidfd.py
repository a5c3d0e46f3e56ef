"""Where the platform has no pidfds (macOS), `kill` and `run` say so in one line, exit 2, and touch nothing.

The platform is simulated by removing `os.pidfd_open` and `signal.pidfd_send_signal`, as
macOS's Python lacks them; the listener, the store and the command are real.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

import pytest


@pytest.fixture
def no_pidfd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "pidfd_open", raising=False)
    monkeypatch.delattr(signal, "pidfd_send_signal", raising=False)


def assert_says_pidfd(result) -> None:  # type: ignore[no-untyped-def]
    assert result.status == 2
    assert result.stderr.startswith("portside: error: this platform (") and "has no pidfds;" in result.stderr
    assert "Linux 5.3" in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_kill_without_pidfd_signals_no_one(cli, hold, no_pidfd) -> None:
    held = hold("tcp:127.0.0.1:0")
    assert_says_pidfd(cli("kill", str(held.port), "--yes"))
    assert held.proc.poll() is None
    with socket.create_connection(("127.0.0.1", held.port), timeout=5):
        pass


# proxy_port comes before no_pidfd, so the pidfds are back when its teardown stops any proxy started.
def test_run_without_pidfd_starts_nothing(cli, proxy_port: int, no_pidfd, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    assert_says_pidfd(cli("run", "app", "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')"))
    assert not marker.exists()
    assert cli("leases", "--json").json() == {"leases": []}
    assert cli("routes", "--json").json()["routes"] == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy_port), timeout=5).close()
