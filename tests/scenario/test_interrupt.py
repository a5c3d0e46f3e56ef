"""Ctrl-C ends a verb with exit 130 and one line: a real SIGINT to a real `portside wait`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time


def closed_loopback_port() -> int:
    """A port nothing listens on: bound by the kernel's choice, then closed without listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def waiting(pid: int, deadline: float) -> bool:
    """True once the process polls its epoll selector: `wait` is dialling, inside the CLI's error handling."""
    while time.monotonic() < deadline:
        if "anon_inode:[eventpoll]" in (_target(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")):
            return True
        time.sleep(0.02)
    return False


def _target(link: str) -> str:
    try:
        return os.readlink(link)
    except FileNotFoundError:  # a socket of the last round, closed since the listing
        return ""


def test_sigint_to_wait_exits_130_with_one_line() -> None:
    port = closed_loopback_port()
    proc = subprocess.Popen([sys.executable, "-m", "portside", "wait", f"127.0.0.1:{port}", "--timeout", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert waiting(proc.pid, time.monotonic() + 30), "wait never started dialling"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert (proc.returncode, out, err) == (130, "", "portside: interrupted\n")
