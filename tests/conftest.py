"""Shared fixtures: real processes holding real sockets, and the CLI run in-process."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from portside.cli.environment import Environment
from portside.cli.main import main

pytest_plugins = ["pytester"]

HOLDER = str(Path(__file__).with_name("holder.py"))
IS_ROOT = os.geteuid() == 0


@dataclass
class Held:
    """A holder process: its pid, its forked child (0 if none) and the bound ports."""

    proc: subprocess.Popen[str]
    pid: int
    child: int
    ports: list[int]

    @property
    def port(self) -> int:
        return self.ports[0]


def start_holder(specs: list[str], *flags: str, prefix: list[str] | None = None, python: str | None = None) -> Held:
    proc = subprocess.Popen(
        [*(prefix or []), python or sys.executable, HOLDER, *specs, *flags],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(5)
        raise RuntimeError(f"holder failed for {specs}")
    data = json.loads(line)
    return Held(proc, data["pid"], data["child"], data["ports"])


def stop_holder(held: Held) -> None:
    """Kill the holder's own session (it and its forked child), by the pid we started."""
    if held.proc.poll() is None:
        try:
            os.killpg(held.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    held.proc.wait(10)


@pytest.fixture
def hold() -> Iterator[Callable[..., Held]]:
    started: list[Held] = []

    def start(
        *specs: str,
        fork: bool = False,
        ignore_term: bool = False,
        prefix: list[str] | None = None,
        python: str | None = None,
    ) -> Held:
        flags = [f for f, on in (("--fork", fork), ("--ignore-term", ignore_term)) if on]
        held = start_holder(list(specs), *flags, prefix=prefix, python=python)
        started.append(held)
        return held

    yield start
    for held in started:
        stop_holder(held)


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str

    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.stdout)


def run_cli(*argv: str, stdin: str = "", tty: bool = False) -> Run:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdout=out, stderr=err, stdin=io.StringIO(stdin), stdout_isatty=tty, stdin_isatty=tty, colour=False
    )
    status = main(list(argv), env)
    return Run(status, out.getvalue(), err.getvalue())


@pytest.fixture
def cli() -> Callable[..., Run]:
    return run_cli


@dataclass
class Namespace:
    """A network namespace made by a test, with lo up and a veth interface `v0`."""

    name: str
    address: str

    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]


@pytest.fixture
def netns() -> Iterator[Namespace]:
    """A private network namespace wired by veth to a peer namespace, both made and removed here.

    Tests bind the namespace's own non-loopback address, never one of this machine's.
    """
    if not IS_ROOT or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to create network namespaces")
    tag = uuid.uuid4().hex[:8]
    name, peer = f"ps-{tag}", f"ps-{tag}-peer"
    address = "198.51.100.7"
    for each in (name, peer):
        subprocess.run(["ip", "netns", "add", each], check=True)
    try:
        subprocess.run(
            ["ip", "link", "add", "v0", "netns", name, "type", "veth", "peer", "name", "v1", "netns", peer], check=True
        )
        for command in (
            ["link", "set", "lo", "up"],
            ["addr", "add", f"{address}/24", "dev", "v0"],
            ["addr", "add", "2001:db8::7/64", "dev", "v0", "nodad"],
            ["link", "set", "v0", "up"],
        ):
            subprocess.run(["ip", "-n", name, *command], check=True)
        yield Namespace(name, address)
    finally:
        for each in (name, peer):
            subprocess.run(["ip", "netns", "del", each], check=False)


def unleased_port() -> int:
    """A port of the allocation pool that is free now (leased to this test, then released at once)."""
    from portside.allocate import pick, release

    (lease,) = pick()
    release(lease.port)
    return lease.port


def listeners_on(data: dict, port: int, protocol: str = "tcp") -> list[dict]:  # type: ignore[type-arg]
    return [item for item in data["listeners"] if item["port"] == port and item["protocol"] == protocol]


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets a state store of its own (leases, names), through PORTSIDE_HOME."""
    home = tmp_path / "portside-state"
    monkeypatch.setenv("PORTSIDE_HOME", str(home))
    return home
