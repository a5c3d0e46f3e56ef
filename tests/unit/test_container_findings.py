"""doctor's container findings, one row per code: listeners with their containers in, ranked findings out.

Rows go through `diagnose_target`, so they also show what the container findings replace (nothing-listening,
ok); every code findings.py can emit has a row (the last test reads its source). Built for real:
tests/scenario/test_containers.py.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

import pytest
from records import listener, process

from portside.containers import findings
from portside.doctor.judge import Exchange, TargetEvidence, diagnose_target
from portside.model import Container, ContainerSource, Engine, Listener, Severity, TcpOutcome
from portside.net.addresses import parse_target

PROXY = process(200, "docker-proxy", user="root", uid=0)
HTTPD = process(210, "busybox", user="root", uid=0)._replace(cmdline=("busybox", "httpd", "-f", "-p",
                                                                        "127.0.0.1:8080"))
HEALTHY = Container(Engine.DOCKER, "9027" * 16, "web1", "local/bb:1", 8080, "172.17.0.2", "running", "docker-proxy",
                    ContainerSource.API, (HTTPD,), ("::",), (8080,))


def evidence(target: str, listeners: tuple[Listener, ...], *exchanges: Exchange, **fields: Any) -> TargetEvidence:
    parsed = parse_target(target)
    base: dict[str, Any] = {
        "target": parsed, "name": None, "resolved": None, "resolve_error": None, "hosts_mapped": None,
        "nss_localhost": False, "exchanges": exchanges, "listeners": listeners, "stopped": (), "elsewhere": (),
        "rules": (), "notes": (), "proxy": None,
    }
    return TargetEvidence(**{**base, **fields})


def published(address: str, container: Container, port: int = 18080) -> Listener:
    return listener(address, port, PROXY)._replace(container=container)


def dnat_only(address: str, container: Container, port: int = 18080) -> Listener:
    return listener(address, port, inodes=())._replace(container=container._replace(stand_in=None))


CLOSED = Exchange("127.0.0.1", TcpOutcome.CONNECTED, 0.1, "closed")
SILENT = Exchange("127.0.0.1", TcpOutcome.CONNECTED, 0.1, "silent")
REFUSED = Exchange("127.0.0.1", TcpOutcome.REFUSED, None)
LOOPBACK_INSIDE = HEALTHY._replace(inside=("127.0.0.1",))
ELSEWHERE_INSIDE = HEALTHY._replace(inside=(), inside_ports=(3000, 9229), processes=())
STOPPED = HEALTHY._replace(state="exited", stand_in=None, processes=(), inside=None, inside_ports=None,
                           container_address=None)

# codes (ranked), then for the first: severity, a part of what was seen, a part of the fix
ROWS: dict[str, tuple[TargetEvidence, list[str], Severity, str, str]] = {
    "healthy-is-ok": (
        evidence("127.0.0.1:18080", (published("127.0.0.1", HEALTHY),), SILENT),
        ["ok"], Severity.INFO, "127.0.0.1:18080 connected", "none needed"),
    "container-loopback": (
        evidence("127.0.0.1:18080", (published("127.0.0.1", LOOPBACK_INSIDE),), CLOSED),
        ["container-loopback"], Severity.FAULT,
        ("127.0.0.1:18080 is published by docker container web1 (local/bb:1) to its port 8080, but inside the "
         "container that port listens only on 127.0.0.1 (pid 210 (busybox)): its own loopback, which published "
         "traffic never reaches; the published port accepted, then closed the connection at once"),
        "make the service inside listen on 0.0.0.0: busybox httpd -p 0.0.0.0:8080"),
    # DNAT alone (userland-proxy off): refused, and neither nothing-listening nor a firewall is blamed
    "container-loopback-dnat": (
        evidence("127.0.0.1:18080", (dnat_only("127.0.0.1", LOOPBACK_INSIDE),), REFUSED),
        ["container-loopback"], Severity.FAULT, "the published port refused the connection",
        "then restart the container"),
    # Podman's conmon (or dockerd) holds the socket while DNAT carries the traffic: refused, yet no firewall blamed
    "container-loopback-held-and-refused": (
        evidence("127.0.0.1:18080", (published("127.0.0.1", LOOPBACK_INSIDE._replace(stand_in="conmon")),), REFUSED),
        ["container-loopback"], Severity.FAULT, "the published port refused the connection", "0.0.0.0"),
    "container-port-mismatch": (
        evidence("127.0.0.1:18080", (published("127.0.0.1", ELSEWHERE_INSIDE),), CLOSED),
        ["container-port-mismatch"], Severity.FAULT,
        ("published by docker container web1 (local/bb:1) to its port 8080, but nothing listens on 8080 inside the "
         "container; inside it listens on 3000, 9229"),
        "publish the port the service listens on (-p 127.0.0.1:18080:3000), or make it listen on 8080"),
    "container-port-mismatch-empty": (
        evidence("127.0.0.1:18080", (published("127.0.0.1", ELSEWHERE_INSIDE._replace(inside_ports=())),), CLOSED),
        ["container-port-mismatch"], Severity.FAULT, "; nothing listens inside it", "-p HOST:CONTAINER"),
    "container-stopped": (
        evidence("localhost:18080", (), Exchange("::1", TcpOutcome.REFUSED, None), REFUSED,
                 stopped_containers=(STOPPED,)),
        ["container-stopped"], Severity.FAULT,
        "port 18080 is published by docker container web1 (local/bb:1), which is exited: nothing forwards",
        "start it: `docker start web1`"),
    "container-stopped-paused": (
        evidence("127.0.0.1:18080", (published("127.0.0.1", HEALTHY._replace(state="paused")),),
                 Exchange("127.0.0.1", TcpOutcome.CONNECTED, 0.1, "silent", accepted=True)),
        ["container-stopped"], Severity.FAULT, "which is paused", "unpause it: `docker unpause web1`"),
    "published-wide": (
        evidence("127.0.0.1:18080", (published("0.0.0.0", HEALTHY), published("::", HEALTHY)), SILENT),
        ["published-wide", "ok"], Severity.WARNING,
        ("docker container web1 (local/bb:1) publishes port 18080 on every address (0.0.0.0:18080 and "
         "[::]:18080): other machines can reach it, and the host's INPUT firewall rules"),
        "publish it on loopback only: -p 127.0.0.1:18080:8080"),
    "published-wide-and-loopback-inside": (
        evidence("127.0.0.1:18080", (published("0.0.0.0", LOOPBACK_INSIDE),), CLOSED),
        ["container-loopback", "published-wide"], Severity.FAULT, "published by docker container web1", "0.0.0.0"),
}


@pytest.mark.parametrize("name", ROWS)
def test_container_findings(name: str) -> None:
    made, codes, severity, observed, fix = ROWS[name]
    found = diagnose_target(made)
    assert [finding.code for finding in found] == codes
    assert found[0].severity is severity
    assert observed in found[0].observed, found[0].observed
    assert fix in found[0].fix, found[0].fix


def test_a_stopped_container_is_not_blamed_when_another_holds_the_port() -> None:
    made = evidence("127.0.0.1:18080", (published("127.0.0.1", HEALTHY),), SILENT, stopped_containers=(STOPPED,))
    assert [finding.code for finding in diagnose_target(made)] == ["ok"]


def test_a_container_whose_inside_is_unreadable_gets_no_guess() -> None:
    unread = HEALTHY._replace(inside=None, inside_ports=None, processes=())
    made = evidence("127.0.0.1:18080", (published("127.0.0.1", unread),), SILENT)
    assert [finding.code for finding in diagnose_target(made)] == ["ok"]


def test_an_unnamed_container_gets_the_engine_s_ps_command() -> None:
    unnamed = STOPPED._replace(name=None, id=None, image=None)
    made = evidence("127.0.0.1:18080", (), REFUSED, stopped_containers=(unnamed,))
    (finding,) = diagnose_target(made)
    assert "docker container (unknown)" in finding.observed
    assert finding.fix == "start it: find it with `docker ps` and run `docker start NAME`"


def test_every_code_of_the_findings_has_a_row() -> None:
    tree = ast.parse(inspect.getsource(findings))
    calls = [call for call in ast.walk(tree)
             if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Finding"]
    assert all(isinstance(call.args[0], ast.Constant) for call in calls), "a code that is not a literal"
    emitted = {call.args[0].value for call in calls if isinstance(call.args[0], ast.Constant)}
    tabled = {code for _, row_codes, *_ in ROWS.values() for code in row_codes} - {"ok"}
    assert emitted == tabled == {"container-loopback", "container-port-mismatch", "container-stopped",
                                 "published-wide"}
