"""Helpers of the scenario tests: holder processes, ports of their own, the proxy's clients, namespaces.

Plain functions and records; the fixtures built on them live in conftest.py next to this file.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parents[1] / "src")
HOLDER = str(HERE / "holder.py")
WEBAPP = str(HERE / "webapp.py")
BACKEND = str(HERE / "backend.py")
DEVSERVER = HERE / "devserver"  # a minimal Vite project (package.json, lockfile), node_modules installed by npm ci
IS_ROOT = os.geteuid() == 0


class Held(NamedTuple):
    """A holder process: its pid, its forked child (0 if none) and the bound ports."""

    proc: subprocess.Popen[str]
    pid: int
    child: int
    ports: list[int]

    @property
    def port(self) -> int:
        return self.ports[0]


def start_holder(specs: list[str], *flags: str, prefix: list[str] | None = None, python: str | None = None) -> Held:
    """holder.py holding `specs` (PROTO:ADDRESS:PORT[:v6only|:dual][:reuseport]), once everything is bound."""
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


class App(NamedTuple):
    """A webapp.py server: its process, pid and port."""

    proc: subprocess.Popen[str]
    pid: int
    port: int


def start_webapp(args: tuple[str, ...], prefix: list[str] | None = None) -> App:
    """webapp.py serving `args` (ADDRESS... [--status N | --silent | --say TEXT]), once it listens."""
    proc = subprocess.Popen([*(prefix or []), sys.executable, WEBAPP, *args], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    data = json.loads(proc.stdout.readline())
    return App(proc, data["pid"], data["port"])


def stop_holder(held: Held | App) -> None:
    """Kill the holder's own session (it and its forked child), by the pid we started."""
    if held.proc.poll() is None:
        try:
            os.killpg(held.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    held.proc.wait(10)


class Namespace(NamedTuple):
    """A network namespace made by a test, with lo up and a veth interface `v0`."""

    name: str
    address: str

    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]


def unleased_port() -> int:
    """A port of the allocation pool that is free now (leased to this test, then released at once)."""
    from portside.leasing.allocate import pick, release

    (lease,) = pick()
    release(lease.port)
    return lease.port


def listeners_on(data: dict[str, Any], port: int, protocol: str = "tcp") -> list[dict[str, Any]]:
    """The rows of an `ls --json` document on `port`."""
    return [item for item in data["listeners"] if item["port"] == port and item["protocol"] == protocol]


def needs(*tools: str) -> None:
    """Skip unless every tool is installed (in PATH or /usr/sbin, /sbin)."""
    for tool in tools:
        if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None:
            pytest.skip(f"{tool} is not installed (.ci/run installs it)")


def hosts_prefix(tmp_path: Path, text: str, net: bool = False, nsswitch: str = "hosts: files dns\n") -> list[str]:
    """Run a command with /etc/hosts (and nsswitch.conf) replaced in a private mount namespace (net: and netns).

    Needs root (mark the test `root`).
    """
    needs("unshare")
    hosts, nss = tmp_path / "hosts", tmp_path / "nsswitch.conf"
    hosts.write_text(text)
    nss.write_text(nsswitch)
    inner = ("ip link set lo up; " if net else "") + (
        f'mount --bind {hosts} /etc/hosts && mount --bind {nss} /etc/nsswitch.conf && exec "$@"')
    return ["unshare", "--mount", *(["--net"] if net else []), "sh", "-c", inner, "sh"]


class Running(NamedTuple):
    """A `portside run` process and the URL it printed."""

    proc: subprocess.Popen[str]
    url: str


def get(proxy_port: int, host: str, path: str = "/", *, method: str = "GET", body: bytes | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request to the proxy on 127.0.0.1 with this Host: status, lower-cased headers, body."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
    conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def backend(start_run, name: str = "app", extra: tuple[str, ...] = ()) -> Running:  # type: ignore[no-untyped-def]
    """backend.py started by `portside run NAME`."""
    return start_run(name, sys.executable, BACKEND, "{port}", extra=extra)  # type: ignore[no-any-return]
