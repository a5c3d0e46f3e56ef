"""Shared fixtures: real processes holding real sockets, the CLI run in-process, `portside run` behind the proxy."""

from __future__ import annotations

import http.client
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

# browser.py: the headless Chromium fixtures (launch_browser, browser).
pytest_plugins = ["pytester", "browser"]

HOLDER = str(Path(__file__).with_name("holder.py"))
BACKEND = str(Path(__file__).with_name("backend.py"))
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
    from portside.leasing.allocate import pick, release

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


@pytest.fixture
def proxy_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A proxy port of this test's own; the proxy `run` starts is stopped afterwards."""
    from portside.router import control

    port = unleased_port()
    monkeypatch.setenv("PORTSIDE_PROXY_PORT", str(port))
    yield port
    control.stop()


class Running:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url


@pytest.fixture
def start_run(proxy_port: int) -> Iterator[object]:
    """`start(name, *command, extra=(), cwd=None)`: `portside run` started, its URL read; killed afterwards.

    The command shares run's stdout, and may print there before run prints the URL (Vite's banner
    does): lines before the first URL are passed over.
    """
    started: list[subprocess.Popen[str]] = []

    def start(name: str, *command: str, extra: tuple[str, ...] = (), cwd: Path | None = None) -> Running:
        proc = subprocess.Popen([sys.executable, "-m", "portside", "run", name, *extra, "--", *command],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                                cwd=cwd)
        started.append(proc)
        assert proc.stdout is not None
        url = ""
        while line := proc.stdout.readline():
            if line.startswith(("http://", "https://")):
                url = line.strip()
                break
        if not url:
            proc.wait(10)
            assert proc.stderr is not None
            raise AssertionError(f"run failed: {proc.stderr.read()}")
        return Running(proc, url)

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def get(proxy_port: int, host: str, path: str = "/", *, method: str = "GET", body: bytes | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
    conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def backend(start_run, name: str = "app", extra: tuple[str, ...] = ()) -> Running:  # type: ignore[no-untyped-def]
    return start_run(name, sys.executable, BACKEND, "{port}", extra=extra)  # type: ignore[no-any-return]
