"""CLI contract: exit codes, one-line errors, plain and terminal rendering, filters."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import needs


@pytest.mark.root
@pytest.mark.parametrize("verb", ["who", "wait"])
def test_unresolvable_name_is_exit_2(verb: str) -> None:
    """Resolved inside an empty network namespace, so the DNS query cannot leave this machine."""
    needs("unshare")
    out = subprocess.run(
        ["unshare", "--net", sys.executable, "-m", "portside", verb, "no-such-host.invalid:80"],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 2
    assert "cannot resolve host name" in out.stderr and out.stderr.count("\n") == 1


def test_module_entry_point_runs(hold) -> None:
    held = hold("tcp:127.0.0.1:0")
    out = subprocess.run([sys.executable, "-m", "portside", "ls", "--port", str(held.port)], capture_output=True, text=True, check=False)
    assert out.returncode == 0
    assert out.stdout.splitlines()[0].split() == ["PROTO", "ADDRESS", "PORT", "EXPOSURE", "PID", "PROCESS", "USER"]


def test_plain_table_row(cli, hold) -> None:
    held = hold("tcp:[::1]:0")
    result = cli("ls", "--port", str(held.port), "--tcp")
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert ["tcp", "[::1]", str(held.port), "loopback", str(held.pid)] in [row[:5] for row in rows]


def test_terminal_output_without_colour_has_no_escape_codes(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0")
    result = cli("ls", "--port", str(held.port), tty=True)
    assert "PROTO" in result.stdout and str(held.pid) in result.stdout
    assert "\x1b[" not in result.stdout


def test_filters(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0", "udp:0.0.0.0:0")
    tcp_port, udp_port = held.ports
    udp_only = cli("ls", "--json", "--udp", "--pid", str(held.pid)).json()["listeners"]
    assert [(r["protocol"], r["port"]) for r in udp_only] == [("udp", udp_port)]
    by_pid = cli("ls", "--json", "--pid", str(held.pid)).json()["listeners"]
    assert sorted((r["protocol"], r["port"]) for r in by_pid) == sorted([("tcp", tcp_port), ("udp", udp_port)])
    exposed = cli("ls", "--json", "--exposed", "--pid", str(held.pid)).json()["listeners"]
    assert [(r["protocol"], r["exposure"]) for r in exposed] == [("udp", "all")]
    named = cli("ls", "--json", "--process", "no-such-process-name").json()["listeners"]
    assert named == []


def test_connections_listed_with_peer(cli, hold) -> None:
    import socket

    held = hold("tcp:127.0.0.1:0")
    with socket.create_connection(("127.0.0.1", held.port)) as client:
        data = cli("ls", "--json", "--connections", "--port", str(held.port)).json()
        mine = client.getsockname()[1]
    peers = [(c["local"]["port"], c["remote"]["port"]) for c in data["connections"]]
    assert (mine, held.port) in peers  # our side, owned by this test process
    assert any(c["remote"]["port"] == held.port and c["processes"] for c in data["connections"])
