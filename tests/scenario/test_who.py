"""`portside who`: the holder, its parents, its sockets and its clients."""

from __future__ import annotations

import os
import socket

import pytest


@pytest.mark.parametrize("form", ["{port}", ":{port}", "127.0.0.1:{port}", "localhost:{port}", "http://localhost:{port}/x"])
def test_who_names_the_holder_in_every_target_form(cli, hold, form: str) -> None:
    held = hold("tcp:127.0.0.1:0")
    result = cli("who", form.format(port=held.port), "--json")
    assert result.status == 0, result.stderr
    data = result.json()
    owners = {p["pid"] for row in data["listeners"] for p in row["processes"]}
    assert held.pid in owners
    (proc,) = [p for row in data["listeners"] for p in row["processes"] if p["pid"] == held.pid]
    assert proc["cwd"] == os.getcwd()
    assert proc["parents"][0]["pid"] == os.getpid()
    assert proc["start_time"] > 0


def test_who_ipv6_target_matches_only_ipv6_listener(cli, hold) -> None:
    v6 = hold("tcp:[::1]:0")
    assert cli("who", f"[::1]:{v6.port}").status == 0
    assert cli("who", f"127.0.0.2:{v6.port}").status == 1


def test_who_lists_connected_clients_not_as_owners(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0")
    with socket.create_connection(("127.0.0.1", held.port)) as client:
        data = cli("who", str(held.port), "--json").json()
        local_port = client.getsockname()[1]
    clients = [c for c in data["connections"] if c["remote"]["port"] == local_port]
    assert len(clients) == 1
    assert clients[0]["local"]["port"] == held.port
    owners = {p["pid"] for row in data["listeners"] for p in row["processes"]}
    assert os.getpid() not in owners


def test_who_plain_output(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0", fork=True)
    result = cli("who", str(held.port))
    assert result.status == 0
    assert f"tcp 127.0.0.1:{held.port}  (loopback" in result.stdout
    assert f"pid {held.pid}" in result.stdout and f"pid {held.child}" in result.stdout
    assert "holder.py" in result.stdout


def test_who_nothing_listening_exits_1(cli) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: nothing holds it as a listener
        result = cli("who", f"127.0.0.1:{port}")
    assert result.status == 1
    assert result.stderr == f"portside: nothing listens on 127.0.0.1 port {port} (tcp or udp)\n"


def test_who_plain_output_brackets_an_ipv6_client(cli, hold) -> None:
    held = hold("tcp:[::1]:0")
    with socket.create_connection(("::1", held.port)) as client:
        out = cli("who", f"[::1]:{held.port}").stdout
        local_port = client.getsockname()[1]
    assert f"  [::1]:{local_port} -> {held.port}  established" in out
