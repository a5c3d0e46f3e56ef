"""`portside ls --json` against real sockets, one row of the issue's matrix per test."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys

import pytest
from support import SRC, listeners_on


def machine_addresses(family: str, netns: str | None = None) -> set[str]:
    """The addresses `ip addr` lists, a link-local IPv6 one with its zone (as clients must dial it)."""
    prefix = ["ip", "-n", netns] if netns else ["ip"]
    out = subprocess.run([*prefix, "-j", "addr"], capture_output=True, text=True, check=True).stdout
    found = set()
    for link in json.loads(out):
        for info in link.get("addr_info", []):
            if info["family"] == ("inet" if family == "ipv4" else "inet6"):
                zoned = info["family"] == "inet6" and info.get("scope") == "link"
                found.add(f"{info['local']}%{link['ifname']}" if zoned else info["local"])
    return found


def one(cli, held, protocol: str = "tcp") -> dict:
    """The one listener on the holder's port that the holder owns (other tests' sockets may share the port)."""
    result = cli("ls", "--json", "--port", str(held.port))
    assert result.status == 0, result.stderr
    rows = [row for row in listeners_on(result.json(), held.port, protocol) if held.pid in pids(row)]
    assert len(rows) == 1, rows
    return rows[0]


def pids(row: dict) -> list[int]:
    return [p["pid"] for p in row["processes"]]


@pytest.mark.parametrize(
    "spec, family, address",
    [
        ("tcp:127.0.0.1:0", "ipv4", "127.0.0.1"),
        ("tcp:127.0.0.2:0", "ipv4", "127.0.0.2"),
        ("tcp:[::1]:0", "ipv6", "::1"),
        ("udp:127.0.0.1:0", "ipv4", "127.0.0.1"),
        ("udp:[::1]:0", "ipv6", "::1"),
    ],
)
def test_loopback_listener(cli, hold, spec: str, family: str, address: str) -> None:
    held = hold(spec)
    row = one(cli, held, spec.split(":")[0])
    assert row["family"] == family
    assert row["address"] == address
    assert row["exposure"] == "loopback"
    assert row["reachable_on"] == [address]
    assert row["dual_stack"] is False
    assert pids(row) == [held.pid]
    process = row["processes"][0]
    assert process["name"].startswith("python")
    assert any(part.endswith("holder.py") for part in process["cmdline"])
    assert (process["uid"], process["user"]) == (os.getuid(), pwd.getpwuid(os.getuid()).pw_name)
    assert row["note"] is None


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_ipv4_wildcard_reaches_every_ipv4_address(cli, hold, protocol: str) -> None:
    held = hold(f"{protocol}:0.0.0.0:0")
    row = one(cli, held, protocol)
    assert row["exposure"] == "all"
    assert row["dual_stack"] is False
    assert set(row["reachable_on"]) == machine_addresses("ipv4")
    assert "127.0.0.1" in row["reachable_on"]


def test_ipv6_wildcard_dual_stack(cli, hold) -> None:
    held = hold("tcp:[::]:0:dual")
    row = one(cli, held)
    assert row["address"] == "::"
    assert row["exposure"] == "all"
    assert row["dual_stack"] is True
    assert set(row["reachable_on"]) == machine_addresses("ipv4") | machine_addresses("ipv6")


def test_ipv6_wildcard_v6only(cli, hold) -> None:
    held = hold("tcp:[::]:0:v6only")
    row = one(cli, held)
    assert row["exposure"] == "all"
    assert row["dual_stack"] is False
    assert set(row["reachable_on"]) == machine_addresses("ipv6")
    assert "127.0.0.1" not in row["reachable_on"]


def test_fork_shared_socket_lists_parent_and_child(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0", fork=True)
    row = one(cli, held)
    assert sorted(pids(row)) == sorted([held.pid, held.child])
    assert len(row["inodes"]) == 1


def test_reuseport_two_processes_one_listener(cli, hold) -> None:
    first = hold("tcp:127.0.0.1:0:reuseport")
    second = hold(f"tcp:127.0.0.1:{first.port}:reuseport")
    row = one(cli, first)
    assert sorted(pids(row)) == sorted([first.pid, second.pid])
    assert len(row["inodes"]) == 2


def test_interface_address_in_namespace(hold, netns) -> None:
    held = hold(f"tcp:{netns.address}:0", prefix=netns.prefix())
    env = {"PYTHONPATH": SRC, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    out = subprocess.run(
        [*netns.prefix(), sys.executable, "-m", "portside", "ls", "--json"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    rows = listeners_on(json.loads(out), held.port)
    assert len(rows) == 1
    row = rows[0]
    assert row["exposure"] == "interface"
    assert row["reachable_on"] == [netns.address]
    assert pids(row) == [held.pid]


def test_namespace_wildcard_lists_its_own_interfaces(hold, netns) -> None:
    held = hold("tcp:[::]:0:dual", prefix=netns.prefix())
    env = {"PYTHONPATH": SRC, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    out = subprocess.run(
        [*netns.prefix(), sys.executable, "-m", "portside", "ls", "--json", "--port", str(held.port)],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    (row,) = json.loads(out)["listeners"]
    assert set(row["reachable_on"]) == machine_addresses("ipv4", netns.name) | machine_addresses("ipv6", netns.name)
    assert netns.address in row["reachable_on"]


def test_unseen_owner_is_listed_with_a_note(cli) -> None:
    """This machine's pid 1 denies reading its fds even to root: its socket stays listed."""
    data = cli("ls", "--json").json()
    hidden = [row for row in data["listeners"] if not row["processes"]]
    if not hidden:
        pytest.skip("every listener's owner is visible on this machine (tests/unit/test_assemble.py covers the note)")
    for row in hidden:
        assert row["note"] and row["note"].startswith("owner not visible")
    assert any("could not read the open files" in note for note in data["notes"])


def test_fast_json_text_equals_the_dict_form(hold) -> None:
    """`ls --json` writes text piecewise; it must be exactly the documented dict form."""
    from portside.cli.render.shapes import inventory_json, inventory_text
    from portside.inventory import inventory

    hold("tcp:127.0.0.1:0", "tcp:[::]:0:dual", "udp:0.0.0.0:0", fork=True)
    first = hold("tcp:127.0.0.1:0:reuseport")
    hold(f"tcp:127.0.0.1:{first.port}:reuseport")
    found = inventory(connections=True)
    for with_connections in (False, True):
        assert json.loads(inventory_text(found, with_connections)) == inventory_json(found, with_connections)


# The walks run in a fresh process: one with threads (a pytest-xdist worker) never forks for the shared walk.
WALKS = """
import json, sys
from portside.inventory import _owners as owners

wanted = set(json.load(sys.stdin))
shared = owners.start(parallel=True)
forked = shared.child is not None
walks = {"shared": shared.finish(wanted), "single": owners.start(parallel=False).finish(wanted)}
print(json.dumps({"forked": forked, **{kind: {"holders": {str(inode): sorted(pids) for inode, pids in walk.holders.items()},
                                              "unreadable": list(walk.unreadable)} for kind, walk in walks.items()}}))
"""


def test_shared_walk_finds_the_same_owners_as_a_single_walk(hold) -> None:
    """The forked, pipe-shared owner walk and a plain walk both find every holder, over enough fds to fork."""
    held = [hold(*["tcp:127.0.0.1:0"] * 150, fork=True) for _ in range(15)]
    expected = {str(inode): sorted([item.pid, item.child]) for item in held for inode in socket_inodes(item.pid)}
    assert len(expected) == 15 * 150
    out = subprocess.run([sys.executable, "-c", WALKS], input=json.dumps([int(inode) for inode in expected]),
                         capture_output=True, text=True, check=True, timeout=60)
    found = json.loads(out.stdout)
    assert found["forked"], "enough fds to fork, in a single-threaded process"
    assert found["shared"]["holders"] == found["single"]["holders"] == expected
    assert found["shared"]["unreadable"] == found["single"]["unreadable"]


def socket_inodes(pid: int) -> set[int]:
    links = (os.readlink(f"/proc/{pid}/fd/{name}") for name in os.listdir(f"/proc/{pid}/fd"))
    return {int(link[8:-1]) for link in links if link.startswith("socket:[")}
