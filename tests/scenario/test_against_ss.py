"""Compare the inventory with the system's own tool, `ss`, for the sockets these tests hold."""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
import sys

import pytest
from support import SRC, Namespace, listeners_on

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


def ss_table(prefix: list[str]) -> set[tuple[str, str, int]]:
    """Every listening TCP and bound UDP socket as `ss` lists it: (protocol, address, port).

    ss prints a device after the address of any socket bound to one ([fe80::5]%v0, 0.0.0.0%lo); the
    address needs it only when it is link-local IPv6, as ls writes it. `*` is ss's `::` with v6only off.
    """
    out = subprocess.run([*prefix, "ss", "-Hlntu"], capture_output=True, text=True, check=True).stdout
    rows = set()
    for line in out.splitlines():
        fields = line.split()
        local, _, port = fields[4].rpartition(":")
        address, _, device = local.partition("%")
        address = "::" if address == "*" else address.strip("[]")
        if device and ipaddress.ip_address(address).version == 6 and ipaddress.ip_address(address).is_link_local:
            address = f"{address}%{device}"
        rows.add((fields[0], address, int(port)))
    return rows


def ls_table(prefix: list[str]) -> set[tuple[str, str, int]]:
    env = {"PYTHONPATH": SRC, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    out = subprocess.run([*prefix, sys.executable, "-m", "portside", "ls", "--json"], capture_output=True, text=True,
                         env=env, check=True).stdout
    return {(row["protocol"], row["address"], row["port"]) for row in json.loads(out)["listeners"]}


def agree(prefix: list[str]) -> set[tuple[str, str, int]]:
    """ls between two ss runs: it lists every socket both saw, and none that neither saw (others open and close
    sockets meanwhile). Returns what ls listed."""
    before = ss_table(prefix)
    listed = ls_table(prefix)
    after = ss_table(prefix)
    assert before & after <= listed, f"ss lists, ls does not: {sorted((before & after) - listed)}"
    assert listed <= before | after, f"ls lists, ss does not: {sorted(listed - (before | after))}"
    return listed


def test_ls_agrees_with_ss_on_the_whole_machine() -> None:
    assert agree([])


def test_ls_agrees_with_ss_on_every_address_form(hold, netns: Namespace) -> None:  # type: ignore[no-untyped-def]
    subprocess.run(["ip", "-n", netns.name, "addr", "add", "fe80::5/64", "dev", "v0", "nodad"], check=True)
    held = hold("tcp:[::ffff:0.0.0.0]:0:dual", "tcp:[::ffff:127.0.0.1]:0:dual", "tcp:[fe80::5%v0]:0:v6only",
                "udp:[fe80::5%v0]:0", "tcp:[::]:0:dual", "tcp:[::]:0:v6only", f"tcp:{netns.address}:0",
                "udp:0.0.0.0:0", prefix=netns.prefix())
    listed = agree(netns.prefix())
    assert {("tcp", "fe80::5%v0", held.ports[2]), ("udp", "fe80::5%v0", held.ports[3]),
            ("tcp", "::ffff:0.0.0.0", held.ports[0])} <= listed
