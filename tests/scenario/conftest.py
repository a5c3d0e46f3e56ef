"""Fixtures of the scenario tests: real processes holding real sockets, namespaces, `portside run` behind the proxy.

Markers (registered in pyproject.toml) say what a scenario needs: `root`, `netns`, `servers`,
`browser`, `containers`. The fixtures that need something mark their tests themselves (the
`netns` fixture makes a test `netns` and `root`, the browser fixtures make it `browser`, the
engine fixtures `containers`), so a test cannot forget; a test marked `root` is skipped,
with the reason, when not run as root.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import engines
import pytest
from browser import require
from support import (
    DEVSERVER,
    IS_ROOT,
    App,
    Held,
    Namespace,
    Running,
    start_holder,
    start_webapp,
    stop_holder,
    unleased_port,
)

# A test that uses the fixture named on the left gets the markers on the right.
IMPLIED = {
    "netns": ("netns", "root"),
    "browser": ("browser",),
    "launch_browser": ("browser",),
    "docker_engine": ("containers", "netns", "root"),
    "docker_dnat_engine": ("containers", "netns", "root"),
    "podman_engine": ("containers", "netns", "root"),
}

URL = re.compile(r"https?://[a-z0-9.-]+\.localhost(:[0-9]+)?/")


def pytest_itemcollected(item: pytest.Item) -> None:
    for fixture in getattr(item, "fixturenames", ()):
        for name in IMPLIED.get(fixture, ()):
            if item.get_closest_marker(name) is None:
                item.add_marker(name)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") is not None and not IS_ROOT:
        pytest.skip("needs root (marked `root`)")


@pytest.fixture
def hold() -> Iterator[Callable[..., Held]]:
    """`hold(*specs, fork=False, ignore_term=False, prefix=None, python=None)`: holder.py processes, killed after."""
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


@pytest.fixture
def webapp() -> Iterator[Callable[..., App]]:
    """`webapp(*args, prefix=None)`: webapp.py servers (tests/scenario/webapp.py), killed after."""
    started: list[App] = []

    def start(*args: str, prefix: list[str] | None = None) -> App:
        app = start_webapp(args, prefix)
        started.append(app)
        return app

    yield start
    for app in started:
        stop_holder(app)


@pytest.fixture
def netns() -> Iterator[Namespace]:
    """A private network namespace wired by veth to a peer namespace, both made and removed here.

    Tests bind the namespace's own non-loopback address, never one of this machine's.
    """
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2 to create network namespaces")
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


@pytest.fixture
def proxy_port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A proxy port of this test's own; the proxy `run` starts is stopped afterwards."""
    from portside.router import control

    port = unleased_port()
    monkeypatch.setenv("PORTSIDE_PROXY_PORT", str(port))
    yield port
    control.stop()


@pytest.fixture
def start_run(proxy_port: int) -> Iterator[Callable[..., Running]]:
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
            # The command shares run's stdout, so its output can land on the URL's line (even without a newline).
            if found := URL.search(line):
                url = found.group(0)
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


@pytest.fixture(scope="session")
def engine_images() -> Iterator[Path]:
    """Where the busybox image tarball is built once; afterwards, what the engines left on the host is removed."""
    before = engines.side_paths()
    where = Path(tempfile.mkdtemp(prefix="ps-img-"))
    yield where
    shutil.rmtree(where, ignore_errors=True)
    engines.clean_side_paths(before)


@pytest.fixture(scope="session")
def docker_engine(engine_images: Path) -> Iterator[engines.Docker]:
    """dockerd with its default userland proxy (docker-proxy holds each published port), shared by the session."""
    engine = engines.docker(engine_images, userland_proxy=True)
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def docker_dnat_engine(engine_images: Path) -> Iterator[engines.Docker]:
    """dockerd with `--userland-proxy=false`: a published port is a DNAT rule and no socket."""
    engine = engines.docker(engine_images, userland_proxy=False)
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def podman_engine(engine_images: Path) -> Iterator[engines.Podman]:
    """Podman (rootful, runc, CNI) and its Docker-compatible API service; conmon reserves each published port."""
    engine = engines.podman(engine_images)
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def vite_project() -> Path:
    """tests/scenario/devserver with its node_modules, installed by `npm ci` from the lockfile when missing or stale."""
    npm = shutil.which("npm")
    require(npm is not None and shutil.which("node") is not None, "Node.js and npm are missing (apt-get install npm)")
    assert npm is not None
    pinned = json.loads((DEVSERVER / "package.json").read_text())["devDependencies"]["vite"]
    installed = DEVSERVER / "node_modules" / "vite" / "package.json"
    with open(DEVSERVER / "package-lock.json", "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel workers (xdist) install once
        if not installed.exists() or json.loads(installed.read_text())["version"] != pinned:
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=DEVSERVER, check=True, timeout=300,
                           env={**os.environ, "npm_config_update_notifier": "false"})
    return DEVSERVER
