"""`portside doctor --listen PORT`: each finding built for real, and `ok` for a free port."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest
from support import IS_ROOT, SRC, unleased_port

from portside.leasing import kernel_ports
from portside.leasing.allocate import bindable


def findings(cli, port: int) -> tuple[int, list[dict]]:  # type: ignore[no-untyped-def,type-arg]
    result = cli("doctor", "--listen", str(port), "--json")
    data = result.json()
    assert data["target"] == f"listen:{port}"
    assert all(sorted(f) == ["code", "fix", "observed", "severity"] for f in data["findings"])
    return result.status, data["findings"]


def test_free_port_is_ok(cli) -> None:
    status, found = findings(cli, unleased_port())
    assert status == 0 and [f["code"] for f in found] == ["ok"]


def test_port_in_use_names_the_holder(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0")
    status, found = findings(cli, held.port)
    assert status == 1
    (in_use,) = [f for f in found if f["code"] == "port-in-use"]
    assert in_use["severity"] == "fault" and f"pid {held.pid} (python" in in_use["observed"]
    assert f"portside kill {held.port}" in in_use["fix"]


def test_time_wait_is_seen_and_is_real(cli) -> None:
    port = unleased_port()
    server = socket.create_server(("127.0.0.1", port))
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()  # the server side closes first: its end goes to TIME_WAIT on `port`
    client.recv(1)
    client.close()
    server.close()
    time.sleep(0.05)
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # the premise: without SO_REUSEADDR the bind fails
    status, found = findings(cli, port)
    (tw,) = [f for f in found if f["code"] == "time-wait"]
    assert tw["severity"] == "warning" and "TIME_WAIT" in tw["observed"] and "SO_REUSEADDR" in tw["fix"]
    assert status == 0


def test_ephemeral_range_is_a_warning(cli) -> None:
    kernel = kernel_ports()
    port = next(p for p in range(kernel.ephemeral.low + 1000, kernel.ephemeral.high) if bindable(p))
    status, found = findings(cli, port)
    assert "ephemeral-range" in [f["code"] for f in found] and status == 0


def test_privileged_port_for_root_and_for_nobody(cli) -> None:
    status, found = findings(cli, 81)
    if IS_ROOT:
        assert [f["code"] for f in found] == ["privileged-port"] and found[0]["severity"] == "info"
        out = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-m", "portside",
             "doctor", "--listen", "81", "--json"],
            capture_output=True, text=True, env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}, check=False,
        )
        assert out.returncode == 1, out.stderr
        (finding,) = [f for f in json.loads(out.stdout)["findings"] if f["code"] == "privileged-port"]
        assert finding["severity"] == "fault" and "setcap cap_net_bind_service" in finding["fix"]
    else:
        assert status == 1 and found[0]["code"] == "privileged-port"


def test_plain_output_has_code_and_fix(cli, hold) -> None:
    held = hold("tcp:[::1]:0")
    result = cli("doctor", "--listen", str(held.port))
    assert result.status == 1
    assert result.stdout.startswith(f"fault    port-in-use: [::1]:{held.port} held by pid {held.pid}")
    assert "fix: stop it" in result.stdout
