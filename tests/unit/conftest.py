"""Unit tests are pure: each is marked `unit`, and none may open a socket or start a process.

The promise is checked, not trusted. While a unit test runs, an audit hook (PEP 578) makes
socket creation, subprocess, fork, exec and spawn raise in the test's own thread, and the
test fails at teardown even when the code under test swallowed that error. A test that
needs any of these belongs in tests/scenario/.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

FORBIDDEN = frozenset({
    "socket.__new__", "subprocess.Popen", "os.system", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn",
    "os.exec", "pty.spawn",
})


class _Guard:
    """The thread of the unit test running now (None between tests), and what it tried."""

    def __init__(self) -> None:
        self.thread: int | None = None
        self.tried: list[str] = []


GUARD = _Guard()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in FORBIDDEN and GUARD.thread is not None and GUARD.thread == threading.get_ident():
        GUARD.tried.append(f"{event}{args}")
        raise RuntimeError(f"a unit test may not do {event}{args}: move the test to tests/scenario/")


sys.addaudithook(_audit)


def pytest_itemcollected(item: pytest.Item) -> None:
    item.add_marker("unit")


@pytest.fixture(autouse=True)
def _pure() -> Iterator[None]:
    GUARD.tried = []
    GUARD.thread = threading.get_ident()
    try:
        yield
    finally:
        GUARD.thread = None
    if GUARD.tried:
        pytest.fail("a unit test opened a socket or started a process: " + "; ".join(GUARD.tried), pytrace=False)
