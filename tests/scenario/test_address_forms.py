"""Every address form told by what it accepts, built for real in a network namespace this test makes.

Each bind is checked twice: what `ls --json` says of it, and what a client dialling every
address of the namespace actually reaches — `reachable_on` must be exactly the addresses
that connect. Then the verbs that take a target (probe, wait, doctor, who, kill) on a
scoped address, a bind whose address was removed (`ip addr del`), and a port that listens
only in another namespace.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support import SRC, App, Held, Namespace, listeners_on, needs
from test_doctor_target import codes, finding
from test_ls_matrix import machine_addresses

LINK_LOCAL = "fe80::5"
# Dial each address as Python's clients do (getaddrinfo turns a zone into the scope id); True when it connects.
DIAL = """
import json, socket, sys
port, found = int(sys.argv[1]), {}
for address in sys.argv[2:]:
    family, kind, proto, _, where = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM,
                                                       flags=socket.AI_NUMERICHOST)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.settimeout(2)
        found[address] = sock.connect_ex(where) == 0
print(json.dumps(found))
"""


def inside(ns: Namespace, *argv: str) -> subprocess.CompletedProcess[str]:
    """`portside ARGV` run in the namespace."""
    env = {"PYTHONPATH": SRC, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    return subprocess.run([*ns.prefix(), sys.executable, "-m", "portside", *argv], capture_output=True, text=True,
                          env=env, check=False, timeout=60)


def ls_row(ns: Namespace, held: Held) -> dict[str, Any]:
    result = inside(ns, "ls", "--json", "--port", str(held.port))
    assert result.returncode == 0, result.stderr
    (row,) = listeners_on(json.loads(result.stdout), held.port)
    return row  # type: ignore[no-any-return]


def dial(ns: Namespace, port: int, addresses: set[str]) -> set[str]:
    """The addresses that accept a connection on `port`, dialled from inside the namespace."""
    out = subprocess.run([*ns.prefix(), sys.executable, "-c", DIAL, str(port), *sorted(addresses)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return {address for address, up in json.loads(out).items() if up}


def every_address(ns: Namespace) -> set[str]:
    return machine_addresses("ipv4", ns.name) | machine_addresses("ipv6", ns.name)


@pytest.fixture
def scoped(netns: Namespace) -> Iterator[Namespace]:
    """The namespace with one link-local address, fe80::5 on v0 (no duplicate detection, so usable at once).

    The kernel's own link-local address is flushed: it stays tentative for a second or two, and a
    tentative address accepts nothing.
    """
    subprocess.run(["ip", "-n", netns.name, "addr", "flush", "dev", "v0", "scope", "link"], check=True)
    subprocess.run(["ip", "-n", netns.name, "addr", "add", f"{LINK_LOCAL}/64", "dev", "v0", "nodad"], check=True)
    yield netns


@pytest.mark.parametrize(("spec", "family", "dual_stack", "exposure", "families"), [
    # an IPv6 socket on ::ffff:0.0.0.0 accepts IPv4 only: an IPv4 wildcard, not dual-stack
    ("tcp:[::ffff:0.0.0.0]:0:dual", "ipv6", False, "all", {"ipv4"}),
    ("tcp:[::]:0:dual", "ipv6", True, "all", {"ipv4", "ipv6"}),
    ("tcp:[::]:0:v6only", "ipv6", False, "all", {"ipv6"}),
    ("tcp:0.0.0.0:0", "ipv4", False, "all", {"ipv4"}),
])
def test_a_wildcard_is_reachable_on_exactly_what_accepts(hold: Callable[..., Held], scoped: Namespace, spec: str,
                                                         family: str, dual_stack: bool, exposure: str,
                                                         families: set[str]) -> None:
    held = hold(spec, prefix=scoped.prefix())
    row = ls_row(scoped, held)
    assert (row["family"], row["dual_stack"], row["exposure"]) == (family, dual_stack, exposure)
    expected = set().union(*(machine_addresses(each, scoped.name) for each in families))
    assert set(row["reachable_on"]) == expected
    if "ipv6" in families:
        assert f"{LINK_LOCAL}%v0" in row["reachable_on"]
    assert dial(scoped, held.port, every_address(scoped)) == expected


@pytest.mark.parametrize(("spec", "address", "exposure", "reachable"), [
    # a mapped address is told, and dialled, as its IPv4 address
    ("tcp:[::ffff:127.0.0.1]:0:dual", "::ffff:127.0.0.1", "loopback", "127.0.0.1"),
    ("tcp:[::ffff:198.51.100.7]:0:dual", "::ffff:198.51.100.7", "interface", "198.51.100.7"),
    # a link-local address keeps its zone: printed, it can be dialled
    (f"tcp:[{LINK_LOCAL}%v0]:0:v6only", f"{LINK_LOCAL}%v0", "interface", f"{LINK_LOCAL}%v0"),
    ("tcp:198.51.100.7:0", "198.51.100.7", "interface", "198.51.100.7"),
])
def test_a_concrete_address_is_reachable_on_what_clients_dial(hold: Callable[..., Held], scoped: Namespace, spec: str,
                                                              address: str, exposure: str, reachable: str) -> None:
    held = hold(spec, prefix=scoped.prefix())
    row = ls_row(scoped, held)
    assert (row["address"], row["dual_stack"], row["exposure"], row["reachable_on"], row["note"]) == (
        address, False, exposure, [reachable], None)
    assert dial(scoped, held.port, every_address(scoped) | {"127.0.0.1"}) == {reachable}


def test_ls_shows_a_scoped_address_with_its_zone(hold: Callable[..., Held], scoped: Namespace) -> None:
    held = hold(f"tcp:[{LINK_LOCAL}%v0]:0:v6only", f"udp:[{LINK_LOCAL}%v0]:0", prefix=scoped.prefix())
    out = inside(scoped, "ls", "--port", str(held.ports[0]), "--port", str(held.ports[1])).stdout
    assert f"tcp    [{LINK_LOCAL}%v0]  {held.ports[0]}" in out and f"udp    [{LINK_LOCAL}%v0]  {held.ports[1]}" in out


def test_every_verb_takes_and_dials_a_scoped_target(webapp: Callable[..., App], scoped: Namespace) -> None:
    needs("curl")
    app = webapp(f"{LINK_LOCAL}%v0", prefix=scoped.prefix())
    target, url = f"[{LINK_LOCAL}%v0]:{app.port}", f"http://[{LINK_LOCAL}%25v0]:{app.port}/"
    curl = subprocess.run([*scoped.prefix(), "curl", "-gs", "-o", "/dev/null", "-w", "%{http_code}", url],
                          capture_output=True, text=True, check=False, timeout=30)
    assert curl.stdout == "200", "curl reaches the address as ls prints it"
    probe = json.loads(inside(scoped, "probe", target, "--json").stdout)
    assert [(a["address"], a["tcp"], a["protocol"]) for a in probe["attempts"]] == [
        (f"{LINK_LOCAL}%v0", "connected", "http")]
    assert inside(scoped, "wait", target, "--timeout", "2s").returncode == 0
    assert inside(scoped, "wait", url, "--http", "--timeout", "2s").returncode == 0
    status, report = doctor_in(scoped, url)
    assert status == 0 and codes(report) == ["ok"]
    who = json.loads(inside(scoped, "who", target, "--json").stdout)
    assert [(row["address"], [p["pid"] for p in row["processes"]]) for row in who["listeners"]] == [
        (f"{LINK_LOCAL}%v0", [app.pid])]
    assert inside(scoped, "who", f"[{LINK_LOCAL}%lo]:{app.port}").returncode == 1, "another zone is another address"
    killed = json.loads(inside(scoped, "kill", target, "--json").stdout)
    assert [v["pid"] for v in killed["victims"]] == [app.pid] and killed["freed"]


def doctor_in(ns: Namespace, target: str) -> tuple[int, dict[str, Any]]:
    result = inside(ns, "doctor", target, "--json")
    assert not result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.mark.parametrize(("bound", "prefix", "target"), [
    ("198.51.100.7", "24", "198.51.100.7:{port}"),
    (f"{LINK_LOCAL}%v0", "64", f"[{LINK_LOCAL}%v0]:{{port}}"),
])
def test_a_bind_on_a_removed_address_is_reachable_on_nothing(webapp: Callable[..., App], scoped: Namespace,
                                                            bound: str, prefix: str, target: str) -> None:
    app = webapp(bound, prefix=scoped.prefix())
    host = bound.split("%")[0]
    subprocess.run(["ip", "-n", scoped.name, "addr", "del", f"{host}/{prefix}", "dev", "v0"], check=True)
    result = inside(scoped, "ls", "--json", "--port", str(app.port))
    (row,) = listeners_on(json.loads(result.stdout), app.port)
    assert row["reachable_on"] == [] and row["note"].startswith(f"no interface that is up holds {bound}")
    assert dial(scoped, app.port, {bound}) == set(), "nothing reaches it indeed"
    status, report = doctor_in(scoped, target.format(port=app.port))
    assert status == 1 and codes(report) == ["address-not-local"]
    fix = finding(report, "address-not-local")["fix"]
    assert f"ip addr add {host}/PREFIX dev {'v0' if '%' in bound else 'DEVICE'}" in fix
    status, report = doctor_in(scoped, str(app.port))
    assert codes(report) == ["address-not-local"], "a bare port finds it too, and blames no firewall"
    subprocess.run(["ip", "-n", scoped.name, "addr", "add", f"{host}/{prefix}", "dev", "v0", "nodad"], check=True)
    status, report = doctor_in(scoped, target.format(port=app.port))
    assert status == 0 and codes(report) == ["ok"], "the fix works"


def test_doctor_never_suggests_dialling_a_mapped_address(webapp: Callable[..., App], scoped: Namespace) -> None:
    app = webapp("::ffff:127.0.0.2", prefix=scoped.prefix())
    status, report = doctor_in(scoped, f"localhost:{app.port}")
    assert status == 1 and codes(report) == ["listening-elsewhere"]
    fix = finding(report, "listening-elsewhere")["fix"]
    assert fix.startswith(f"dial 127.0.0.2:{app.port},") and "::ffff" not in fix


def test_ls_and_who_hint_at_a_port_that_listens_only_in_another_namespace(cli, hold: Callable[..., Held],  # type: ignore[no-untyped-def]
                                                                        netns: Namespace) -> None:
    held = hold("tcp:127.0.0.1:0", prefix=netns.prefix())
    expected = (f"nothing listens on port {held.port} in this network namespace, but TCP 127.0.0.1:{held.port} in "
                f"netns {netns.name} (pid {held.pid}, python")
    listed = cli("ls", "--port", str(held.port))
    assert listed.status == 0 and f"note: {expected}" in listed.stderr
    assert f"nsenter --net --target {held.pid} portside ls --port {held.port}" in listed.stderr
    assert any(note.startswith(expected) for note in cli("ls", "--json", "--port", str(held.port)).json()["notes"])
    who = cli("who", str(held.port))
    assert who.status == 1 and f"note: {expected}" in who.stderr
    assert f"portside who {held.port}" in who.stderr
    assert cli("ls", "--udp", "--port", str(held.port)).stderr.count("nothing listens") == 0
