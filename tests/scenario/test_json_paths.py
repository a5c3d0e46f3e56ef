"""--json on the paths that used to print text: a free port to kill, nothing to `who`, `run` once ready."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

from support import BACKEND, get, unleased_port


def test_kill_json_on_a_free_port(cli) -> None:  # type: ignore[no-untyped-def]
    port = unleased_port()
    result = cli("kill", f"127.0.0.1:{port}", "--json")
    assert result.status == 0 and result.stderr == ""
    assert result.json() == {"target": f"127.0.0.1:{port}", "port": port, "dry_run": False, "declined": False,
                             "victims": [], "signalled": [], "survivors": [], "vanished": [], "containers": [],
                             "freed": True}


def test_kill_json_dry_run_and_real(cli, hold) -> None:  # type: ignore[no-untyped-def]
    held = hold("tcp:127.0.0.1:0")
    dry = cli("kill", str(held.port), "--json", "--dry-run").json()
    assert [v["pid"] for v in dry["victims"]] == [held.pid] and dry["dry_run"] and dry["signalled"] == []
    done = cli("kill", str(held.port), "--json", "--yes")
    assert done.status == 0
    data = done.json()
    assert [(s["pid"], s["signal"]) for s in data["signalled"]] == [(held.pid, "SIGTERM")] and data["freed"]


def test_who_json_when_nothing_listens_exits_1(cli) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        result = cli("who", f"127.0.0.1:{port}", "--json")
    assert result.status == 1
    data = result.json()
    assert (data["port"], data["listeners"], data["connections"]) == (port, [], [])
    assert result.stderr == f"portside: nothing listens on 127.0.0.1 port {port} (tcp or udp)\n"


def test_run_json_prints_one_line_when_ready(proxy_port: int) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "portside", "run", "jsonapp", "--json", "--", sys.executable,
                             BACKEND, "{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        data = json.loads(proc.stdout.readline())
        assert sorted(data) == ["name", "pid", "port", "url"]
        assert data["name"] == "jsonapp" and data["url"] == f"http://jsonapp.localhost:{proxy_port}/"
        status, _, _ = get(proxy_port, "jsonapp.localhost")
        assert status == 200
        owners = subprocess.run(["ss", "-Hltnp", f"sport = :{data['port']}"], capture_output=True, text=True,
                                check=True).stdout
        server = int(owners.split("pid=")[1].split(",")[0])
        assert os.getpgid(server) == data["pid"]  # the pid run started leads the command's process group
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(15)
