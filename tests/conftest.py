"""What every test may use: a state store of its own, and the CLI run in-process.

Tests come in two kinds, one folder each: unit/ (pure: no root, no sockets, no processes;
unit/conftest.py enforces it) and scenario/ (real sockets, processes, servers, namespaces,
browsers; scenario/conftest.py holds their fixtures). Markers say which, see pyproject.toml.
"""

from __future__ import annotations

import io
import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from portside.cli.environment import Environment
from portside.cli.main import main
from portside.leasing.store import close_stores

# scenario/browser.py: the headless Chromium fixtures (launch_browser, browser). Plugins can only be named here,
# in the top conftest; pyproject's `pythonpath` makes scenario/ importable.
pytest_plugins = ["pytester", "browser"]


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C tests send SIGINT to the CLI: give it the disposition a terminal would.

    A shell starts a background job (`pytest &`, CI wrappers) with SIGINT ignored, and an ignored
    signal stays ignored across exec, so every child would ignore the tests' SIGINT. A handler of
    our own is reset to the default at exec instead.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class Run(NamedTuple):
    """What the CLI did: exit status and everything it wrote."""

    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
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
    """`cli(*argv, stdin="", tty=False)`: the CLI run in this process, with an injected environment."""
    return run_cli


@pytest.fixture(autouse=True)
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets a state store of its own (leases, names), through PORTSIDE_HOME; the stores opened under
    the test's own directory are closed after it (a whole run in one process would keep ~1,700 open)."""
    home = tmp_path / "portside-state"
    monkeypatch.setenv("PORTSIDE_HOME", str(home))
    yield home
    close_stores(tmp_path)
