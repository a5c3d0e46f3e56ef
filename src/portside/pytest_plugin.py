"""pytest fixtures: ports no other test (or xdist worker) gets, and services started on them.

Registered through the `pytest11` entry point, so installing portside makes the fixtures
available. Leases are owned by the test process and live in the shared state store, so
parallel workers never receive the same port; each is released at teardown, and a worker
that dies takes its leases with it.

    def test_api(free_port):              # one port
    def test_cluster(free_ports):         # free_ports(3) -> [p1, p2, p3]
    def test_app(service):                # service(["python", "-m", "http.server", "{port}"])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from portside.model import Lease
    from portside.process.supervise import Service


def _pick(count: int) -> list[Lease]:
    from portside.leasing.allocate import pick

    return pick(count)


def _release(leases: Sequence[Lease]) -> None:
    from portside.errors import UsageError
    from portside.leasing.allocate import release

    for lease in leases:
        try:
            release(lease.port, owner=os.getpid())
        except UsageError:
            pass  # reclaimed already (e.g. the lease had a ttl)


@pytest.fixture
def free_port() -> Iterator[int]:
    """A port free on every loopback and wildcard address, leased to this test until it ends."""
    leases = _pick(1)
    yield leases[0].port
    _release(leases)


@pytest.fixture
def free_ports() -> Iterator[Callable[[int], list[int]]]:
    """A function `free_ports(n)` giving n distinct leased ports; all released when the test ends."""
    taken: list[Lease] = []

    def take(count: int) -> list[int]:
        leases = _pick(count)
        taken.extend(leases)
        return [lease.port for lease in leases]

    yield take
    _release(taken)


@pytest.fixture
def service() -> Iterator[Callable[..., Service]]:
    """A function starting a command with PORT set and returning once it answers; stopped at teardown.

    `service(cmd, port=None, env=None, cwd=None, http=False | True | STATUS, path="/", timeout=30)`:
    `cmd` is an argv list or a shell-like string, `{port}` in it is replaced by the port.
    """
    from portside.probing.wait import HttpExpectation
    from portside.process.supervise import start_service

    started: list[tuple[Service, list[Lease]]] = []

    def start(
        command: Sequence[str] | str,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        http: bool | int = False,
        path: str = "/",
        timeout: float = 30.0,
    ) -> Service:
        leases = _pick(1) if port is None else []
        chosen = leases[0].port if leases else port
        assert chosen is not None
        expectation = None if http is False else HttpExpectation(None if http is True else int(http))
        try:
            running = start_service(command, port=chosen, env=env, cwd=cwd, http=expectation, path=path,
                                    timeout=timeout)
        except BaseException:
            _release(leases)
            raise
        started.append((running, leases))
        return running

    yield start
    for running, leases in reversed(started):
        running.stop()
        _release(leases)
