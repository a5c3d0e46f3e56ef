"""Start-up is a feature (issue 17): which modules each verb's cheapest call loads, not how many milliseconds.

Each call runs in a fresh interpreter, as the `portside` script runs it, against a server and
a state directory of the test's own, and reports the modules it loaded beyond the
interpreter's own start-up. The libraries that cost a start-up tens of milliseconds (Rich,
Textual, cryptography, asyncio and the proxy's h2, httptools and uvloop, psutil) and the
standard library's costly modules (typing, shutil with bz2 and lzma, subprocess, logging,
ssl...) load only on the paths that use them; a verb loads its own front end and no other's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# What a cheap call must not load unless its row below allows it.
HEAVY = frozenset({
    "rich", "textual", "cryptography", "asyncio", "h2", "hpack", "httptools", "uvloop", "psutil",
    "prometheus_client", "shtab", "typing", "shutil", "bz2", "lzma", "tempfile", "subprocess", "logging",
    "concurrent", "ssl", "email", "http", "json", "sqlite3", "inspect", "dataclasses", "zipfile",
    "importlib.metadata",
})
# Packages of portside that only their own verbs load, and the verbs whose cheapest call may load which.
OWN_PATHS = ("portside.tui", "portside.router.proxy", "portside.router.http1", "portside.router.http2",
             "portside.web", "portside.auditing", "portside.doctor", "portside.monitor", "portside.export")
OWNED_BY = {"doctor": ("portside.doctor",), "export": ("portside.export", "portside.monitor")}

REPORT = """
import sys
before = set(sys.modules)
from portside.cli.main import main
try:
    status = main(sys.argv[2:])
except SystemExit as done:  # argparse's --help prints and exits
    status = done.code or 0
sys.stdout.flush()
with open(sys.argv[1], "w") as out:
    out.write("\\n".join([str(status), *sorted(set(sys.modules) - before)]))
"""


SERVE = """
import http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    """A quiet HTTP server on loopback in a child of the test's own (so `kill --dry-run` names it, not pytest)."""
    server = subprocess.Popen([sys.executable, "-c", SERVE], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        yield int(server.stdout.readline())
    finally:
        server.terminate()
        server.wait(10)


def loaded(argv: list[str], home: Path) -> tuple[int, frozenset[str]]:
    """The exit status of `portside ARGV` in a fresh interpreter, and the modules the call loaded."""
    out = home / "modules.txt"
    env = {**os.environ, "PORTSIDE_HOME": str(home), "NO_COLOR": "1"}
    subprocess.run([sys.executable, "-c", REPORT, str(out), *argv], env=env, stdout=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL, timeout=60, check=False)
    status, *modules = out.read_text().splitlines()
    return int(status), frozenset(modules)


CALLS: list[tuple[str, frozenset[str]]] = [
    ("--version", frozenset()),
    ("--help", frozenset()),
    ("ls", frozenset()),
    ("ls --json", frozenset({"json"})),
    ("who {port}", frozenset()),
    ("kill {port} --dry-run", frozenset()),  # the test's own server; --dry-run signals no one
    ("wait 127.0.0.1:{port}", frozenset()),
    ("wait localhost:{port}", frozenset()),
    ("pick", frozenset({"sqlite3"})),
    ("leases", frozenset({"sqlite3"})),
    ("routes", frozenset({"sqlite3", "json"})),
    ("proxy status", frozenset({"sqlite3", "json"})),
    ("doctor http://127.0.0.1:{port}/", frozenset({"json"})),
    ("doctor localhost:{port}", frozenset({"json"})),
    ("probe 127.0.0.1:{port}", frozenset({"json"})),
    ("export --ndjson", frozenset({"json"})),
    ("export --prometheus", frozenset({"sqlite3"})),
]


@pytest.mark.parametrize(("call", "allowed"), CALLS, ids=[call.split(" {")[0] for call, _ in CALLS])
def test_a_cheap_call_loads_only_what_it_uses(call: str, allowed: frozenset[str], http_port: int,
                                              tmp_path: Path) -> None:
    argv = call.format(port=http_port).split()
    status, modules = loaded(argv, tmp_path)
    assert status == 0, f"portside {' '.join(argv)} exited {status}"
    heavy = {name for name in modules if name.split(".")[0] in HEAVY or name in HEAVY} - {
        name for name in modules if name.split(".")[0] in allowed}
    assert not heavy, f"portside {' '.join(argv)} loaded {sorted(heavy)}"
    verb = argv[0] if not argv[0].startswith("-") else None
    fronts = {name for name in modules if name.startswith("portside.cli.") and name.count(".") == 2}
    assert fronts <= {"portside.cli.main", "portside.cli.environment", "portside.cli.render", f"portside.cli.{verb}"}
    own = {name for name in modules if name.startswith(OWN_PATHS)}
    assert all(name.startswith(OWNED_BY.get(verb or "", ("-",))) for name in own), sorted(own)


def test_help_and_version_load_no_verb_and_no_socket(tmp_path: Path) -> None:
    for flag in ("--help", "--version"):
        status, modules = loaded([flag], tmp_path)
        assert status == 0
        assert "socket" not in modules
        assert not [name for name in modules if name.startswith("portside.") and name.count(".") >= 1
                    and name not in ("portside.cli", "portside.cli.main", "portside.cli.environment",
                                     "portside._typing", "portside._version", "portside.errors", "portside.model")]


def test_the_report_sees_a_heavy_import(tmp_path: Path) -> None:
    """The check can fail: a module that imports Textual, loaded beside a call, shows up in the report."""
    out = tmp_path / "modules.txt"
    subprocess.run([sys.executable, "-c", REPORT.replace("from portside.cli.main import main",
                                                         "from portside.cli.main import main\nimport portside.tui.app"),
                    str(out), "--version"], env={**os.environ, "PORTSIDE_HOME": str(tmp_path)},
                   stdout=subprocess.DEVNULL, timeout=60, check=True)
    modules = set(out.read_text().splitlines()[1:])
    assert "textual" in modules
    assert "rich" in modules
