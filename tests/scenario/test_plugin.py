"""The pytest plugin, run as users run it: a generated test suite under pytest-xdist workers."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from portside.leasing import kernel_ports
from portside.leasing.allocate import leases

PARALLEL_SUITE = """
import json, os, socket, time

import pytest

@pytest.mark.parametrize("n", range(24))
def test_ports_are_ours_alone(free_port, free_ports, n):
    ports = [free_port, *free_ports(4)]
    held = []
    for port in ports:
        sock = socket.socket()          # no SO_REUSEADDR: any double hand-out fails the bind
        sock.bind(("127.0.0.1", port))
        sock.listen()
        held.append(sock)
    time.sleep(0.03)
    with open(os.environ["PORT_LOG"], "a") as log:
        log.write(json.dumps({"worker": os.environ.get("PYTEST_XDIST_WORKER"), "ports": ports}) + "\\n")
"""

SERVICE_SUITE = """
import os, sys, urllib.request

def test_http_server(service, tmp_path):
    (tmp_path / "index.html").write_text("hello from the service")
    web = service([sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"], cwd=tmp_path, http=True)
    assert os.environ.get("PORT") is None
    body = urllib.request.urlopen(f"http://127.0.0.1:{web.port}/index.html", timeout=5).read()
    assert body == b"hello from the service"
    with open(os.environ["PID_LOG"], "a") as log:
        log.write(f"{web.pid}\\n")

def test_port_in_env_and_children_stopped(service):
    script = 'python3 -m http.server "$PORT" --bind 127.0.0.1 & echo $! > "$CHILD_LOG"; wait'
    web = service(["bash", "-c", script])
    with open(os.environ["PID_LOG"], "a") as log:
        log.write(f"{web.pid}\\n")

def test_a_command_that_dies_is_reported(service):
    from portside.errors import ServiceFailed
    import pytest
    with pytest.raises(ServiceFailed, match="exited with status 3 before answering"):
        service([sys.executable, "-c", "raise SystemExit(3)"])
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_fixtures_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures")
    result.stdout.fnmatch_lines(["*free_port*", "*free_ports*", "*service*"])


def test_parallel_workers_never_share_a_port(pytester: pytest.Pytester, tmp_path: Path) -> None:
    log = tmp_path / "ports.jsonl"
    os.environ["PORT_LOG"] = str(log)
    try:
        pytester.makepyfile(test_parallel=PARALLEL_SUITE)
        result = pytester.runpytest_subprocess("-n", "6", "-p", "xdist")
    finally:
        del os.environ["PORT_LOG"]
    result.assert_outcomes(passed=24)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 24 and len({record["worker"] for record in records}) > 1
    kernel = kernel_ports()
    assert all(port not in kernel.ephemeral for record in records for port in record["ports"])
    assert leases() == []


def test_service_starts_answers_and_stops_with_its_children(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pid_log, child_log = tmp_path / "pids", tmp_path / "child"
    os.environ.update(PID_LOG=str(pid_log), CHILD_LOG=str(child_log))
    try:
        pytester.makepyfile(test_service=SERVICE_SUITE)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    finally:
        del os.environ["PID_LOG"], os.environ["CHILD_LOG"]
    result.assert_outcomes(passed=3)
    pids = [int(line) for line in pid_log.read_text().split()] + [int(child_log.read_text())]
    assert len(pids) == 3
    deadline = time.monotonic() + 5
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(alive, pids))
    assert leases() == []
