"""doctor's family judgement against the real clients it names: python3, node and curl on this machine.

For each case a server listens on one family, /etc/hosts is replaced in a private mount
namespace, and doctor and the clients run under that same file. doctor's finding says which
clients fail; each client is then run and must do exactly what doctor said. (Browsers resolve
localhost names themselves as curl does; tests/scenario/test_browser.py drives Chromium.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from support import App, hosts_prefix, needs
from test_doctor_target import codes, doctor, finding

from portside.doctor.clients import CLIENTS

pytestmark = pytest.mark.root

_, CURL, PYTHON, NODE, FIRST_ONLY = CLIENTS
# One command per client kind, for a URL; each prints "ok" when it got an HTTP answer.
RUN = {
    CURL.name: ["curl", "-s", "-o", "/dev/null", "-w", "ok", "--max-time", "5", "{url}"],
    PYTHON.name: [sys.executable, "-c", ("import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5); "
                  "print('ok')"), "{url}"],
    NODE.name: ["node", "-e", "fetch(process.argv[1]).then(() => console.log('ok'), () => {})", "{url}"],
    FIRST_ONLY.name: ["node", "-e", ("const [host, port] = process.argv.slice(1); "
                      "const s = require('net').connect({host, port: +port, autoSelectFamily: false}, "
                      "() => { console.log('ok'); s.destroy(); }); s.on('error', () => {})"), "{host}", "{port}"],
}


class Case(NamedTuple):
    bound: str
    hosts: str
    target: str
    severity: str
    failing: set[str]


CASES = {
    # ::1 first, server on 127.0.0.1: everyone who falls back reaches it; only a first-address-only client fails
    "v6-first-server-v4": Case("127.0.0.1", "::1 localhost\n127.0.0.1 localhost\n", "http://localhost:{port}/",
                               "warning", {FIRST_ONLY.name}),
    # localhost is 127.0.0.1 only, server on ::1: getaddrinfo's clients fail, curl resolves localhost itself
    "v4-only-server-v6": Case("::1", "127.0.0.1 localhost\n::1 ip6-localhost\n", "http://localhost:{port}/",
                              "fault", {PYTHON.name, NODE.name, FIRST_ONLY.name}),
    # localhost is ::1 only, server on 127.0.0.1: the same the other way round
    "v6-only-server-v4": Case("127.0.0.1", "::1 localhost\n", "localhost:{port}",
                              "fault", {PYTHON.name, NODE.name, FIRST_ONLY.name}),
    # a *.localhost name the hosts file gives only 127.0.0.1, server on ::1
    "subdomain-v4-server-v6": Case("::1", "127.0.0.1 localhost app.localhost\n::1 localhost\n",
                                   "http://app.localhost:{port}/", "fault", {PYTHON.name, NODE.name, FIRST_ONLY.name}),
}


def node_major() -> int:
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.strip().lstrip("v").split(".")[0])


def outcomes(prefix: list[str], host: str, port: int, path: str) -> dict[str, bool]:
    """What each client does, run under `prefix` (the private /etc/hosts): True when it got an answer."""
    url = f"http://{host}:{port}{path}"
    found = {}
    for name, command in RUN.items():
        argv = [{"{url}": url, "{host}": host, "{port}": str(port)}.get(part, part) for part in command]
        out = subprocess.run([*prefix, *argv], capture_output=True, text=True, check=False, timeout=30)
        found[name] = out.stdout.strip() == "ok"
    return found


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_doctor_names_exactly_the_clients_that_fail(webapp: Callable[..., App], tmp_path: Path, case: Case) -> None:
    needs("curl", "node")
    if node_major() < 20:
        pytest.skip("Node >= 20 is the client whose fallback doctor names (autoSelectFamily)")
    app = webapp(case.bound)
    target = case.target.format(port=app.port)
    prefix = hosts_prefix(tmp_path, case.hosts)
    status, report, _ = doctor(target, prefix=prefix)
    found = finding(report, "family-mismatch")
    assert found["severity"] == case.severity and status == (1 if case.severity == "fault" else 0)
    assert codes(report) == (["family-mismatch"] if case.severity == "fault" else ["family-mismatch", "ok"])
    said_to_fail, _, said_to_reach = found["observed"].partition("These fail: ")[2].partition("; these reach ")
    predicted = {name for name in RUN if name in said_to_fail}
    assert predicted == case.failing
    assert all(name in said_to_reach for name in RUN if name not in case.failing)
    host = target.split("//")[-1].rsplit(":", 1)[0]
    real = outcomes(prefix, host, app.port, "/")
    assert {name for name, ok in real.items() if not ok} == case.failing, (
        f"doctor said {sorted(case.failing)} fail; the clients themselves: {json.dumps(real)}")


def test_every_client_kind_doctor_names_is_run_here() -> None:
    """The table above runs every kind doctor can name but browsers (they are not a command here)."""
    assert set(RUN) == {client.name for client in CLIENTS if not client.web_only}
    assert shutil.which("python3") is not None
