"""Compare the inventory with the system's own tool, `ss`, for the sockets these tests hold."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from support import listeners_on

pytestmark = pytest.mark.skipif(shutil.which("ss") is None, reason="ss (iproute2) is not installed")


def ss_rows(port: int) -> set[tuple[str, str, int, frozenset[int]]]:
    out = subprocess.run(["ss", "-Hlnptu", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    rows = set()
    for line in out.splitlines():
        fields = line.split()
        proto, local = fields[0], fields[4]
        address, _, port_text = local.rpartition(":")
        address = address.strip("[]").split("%", 1)[0]
        if address == "*":
            address = "0.0.0.0"  # ss prints a dual-stack or v4 wildcard as '*'; normalised below
        pids = frozenset(int(p) for p in re.findall(r"pid=(\d+)", line))
        rows.add((proto, address, int(port_text), pids))
    return rows


def test_same_sockets_and_owners_as_ss(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0", "tcp:[::1]:0", "udp:127.0.0.1:0", "udp:[::1]:0", fork=True)
    mine = set()
    theirs = set()
    for port in held.ports:
        theirs |= ss_rows(port)
        for row in cli("ls", "--json", "--port", str(port)).json()["listeners"]:
            mine.add((row["protocol"], row["address"], row["port"], frozenset(p["pid"] for p in row["processes"])))
    assert theirs and mine == theirs
    ours = [pids for *_, pids in mine if held.pid in pids]
    assert len(ours) == 4
    assert all(pids == {held.pid, held.child} for pids in ours)


def test_ss_sees_the_listener_portside_calls_dual_stack(cli, hold) -> None:
    held = hold("tcp:[::]:0:dual")
    (row,) = listeners_on(cli("ls", "--json", "--port", str(held.port)).json(), held.port)
    ((proto, _address, port, pids),) = ss_rows(held.port)
    assert (proto, port, pids) == ("tcp", held.port, {held.pid})
    assert row["dual_stack"] is True
