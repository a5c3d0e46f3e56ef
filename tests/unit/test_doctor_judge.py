"""doctor's judge, one row per finding: hand-built evidence in, ranked findings out (code, severity, what, fix).

Every code judge.py can emit has a row here (the last test reads judge.py's source to keep
that true); the same findings built for real are tests/scenario/test_doctor_*.py.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any, NamedTuple

import pytest
from records import listener, process

from portside.doctor import judge
from portside.doctor.firewall import Condition, FirewallRule
from portside.doctor.judge import Exchange, ListenEvidence, TargetEvidence, diagnose_listen, diagnose_target
from portside.doctor.proxyenv import ProxyRoute
from portside.leasing.pool import PortRange
from portside.model import Container, ContainerSource, Engine, ForeignListener, Severity, TcpOutcome
from portside.net.addresses import parse_target

WEB = process(4100, "node")
KERNEL_RANGE = PortRange(32768, 60999)


def evidence(target: str, *exchanges: Exchange, **fields: Any) -> TargetEvidence:
    """What doctor would have gathered for `target`: the exchanges given, nothing else unless named."""
    parsed = parse_target(target)
    base: dict[str, Any] = {
        "target": parsed, "name": "localhost" if parsed.host is None else parsed.name, "resolved": None,
        "resolve_error": None, "hosts_mapped": None, "nss_localhost": False, "exchanges": exchanges, "listeners": (),
        "stopped": (), "elsewhere": (), "rules": (), "notes": (), "proxy": None,
    }
    return TargetEvidence(**{**base, **fields})


def connected(address: str, reply: str | None = None, status: int | None = None, detail: str = "",
              accepted: bool | None = None, other_scheme: bool = False) -> Exchange:
    return Exchange(address, TcpOutcome.CONNECTED, 0.2, reply, status, detail, accepted, other_scheme)


def failed(address: str, tcp: str) -> Exchange:
    return Exchange(address, TcpOutcome(tcp), None)


def rule(verdict: str, port: int = 3000, *, policy: bool = False) -> FirewallRule:
    text = f"policy {verdict}" if policy else f"tcp dport {port} {verdict}"
    remove = "nft insert rule inet f input tcp dport PORT accept" if policy else "nft delete rule inet f input handle 7"
    return FirewallRule("nftables", "table inet f chain input", text, verdict, remove, frozenset({4, 6}),
                        None if policy else Condition((str(port),)), policy=policy)


class Row(NamedTuple):
    """The whole ranked list of codes, and for the first of them: severity, a part of observed, a part of fix."""

    codes: list[str]
    severity: Severity
    observed: str
    fix: str


HTTP_OK = connected("127.0.0.1", "http", 200, "OK")
REFUSED_BOTH = (failed("::1", "refused"), failed("127.0.0.1", "refused"))
HERE = (listener("127.0.0.1", 3000, WEB),)
UNHELD = listener("198.51.100.7", 3000, WEB)._replace(reachable_on=())

TARGET_ROWS: dict[str, tuple[TargetEvidence, Row]] = {
    "ok-http": (
        evidence("http://127.0.0.1:3000/", HTTP_OK),
        Row(["ok"], Severity.INFO, "127.0.0.1:3000 connected in 0.2 ms; HTTP 200 OK", "none needed")),
    "ok-client-error-is-not-a-fault": (
        evidence("http://127.0.0.1:3000/", connected("127.0.0.1", "http", 404, "Not Found")),
        Row(["ok"], Severity.INFO, "HTTP 404 Not Found", "none needed")),
    "ok-silent-bare-port": (
        evidence("127.0.0.1:3000", connected("127.0.0.1", "silent")),
        Row(["ok"], Severity.INFO, "127.0.0.1:3000 connected in 0.2 ms", "none needed")),
    "nothing-listening": (
        evidence("localhost:3000", *REFUSED_BOTH),
        Row(["nothing-listening"], Severity.FAULT,
            "[::1]:3000, 127.0.0.1:3000: refused, and no socket on this machine listens on TCP port 3000",
            "start the server on port 3000, or find the port it did take: portside ls")),
    "nothing-listening-says-each-outcome": (
        evidence("localhost:3000", failed("::1", "unreachable"), failed("127.0.0.1", "refused")),
        Row(["nothing-listening"], Severity.FAULT,
            "[::1]:3000: unreachable; 127.0.0.1:3000: refused, and no socket on this machine listens on TCP port 3000",
            "start the server on port 3000")),
    "listening-elsewhere": (
        evidence("localhost:3000", *REFUSED_BOTH, listeners=(listener("127.0.0.2", 3000, WEB),)),
        Row(["listening-elsewhere"], Severity.FAULT,
            "nothing listens on [::1]:3000, 127.0.0.1:3000, but port 3000 listens on 127.0.0.2:3000 by pid 4100 (node)",
            "dial 127.0.0.2:3000, or make the server listen on the address you dial")),
    "listening-elsewhere-hidden-owner": (
        evidence("127.0.0.2:3000", failed("127.0.0.2", "refused"), listeners=(listener("127.0.0.1", 3000),)),
        Row(["listening-elsewhere"], Severity.FAULT, "listens on 127.0.0.1:3000 by an owner not visible to you",
            "dial 127.0.0.1:3000")),
    "other-namespace": (
        evidence("3000", *REFUSED_BOTH, elsewhere=(ForeignListener("netns app", "127.0.0.1", 3000, 4300, "node"),)),
        Row(["other-namespace"], Severity.FAULT,
            "nothing listens on port 3000 in this network namespace, but 127.0.0.1:3000 in netns app (pid 4300, node)",
            "connect from inside it: nsenter --net --target 4300 portside doctor 3000")),
    "family-mismatch-only-first-address-clients-fail": (
        evidence("localhost:3000", failed("::1", "refused"), connected("127.0.0.1"), resolved=("::1", "127.0.0.1"),
                 listeners=HERE),
        Row(["family-mismatch", "ok"], Severity.WARNING,
            "localhost resolves to ::1, 127.0.0.1 (getaddrinfo), and [::1]:3000 is refused; the server answers only "
            "on 127.0.0.1:3000. These fail: clients that dial only the first address (Node < 20, or Node with "
            "autoSelectFamily: false); these reach 127.0.0.1:3000: curl, Python (socket.create_connection: urllib, "
            "requests) and Node >= 20 (net, http, fetch)",
            "make the server listen on both families")),
    "family-mismatch-getaddrinfo-clients-fail": (
        evidence("http://localhost:3000/", connected("::1", "http", 200), failed("127.0.0.1", "refused"),
                 resolved=("127.0.0.1",), listeners=(listener("::1", 3000, WEB),)),
        Row(["family-mismatch"], Severity.FAULT,
            "These fail: Python (socket.create_connection: urllib, requests), Node >= 20 (net, http, fetch) and "
            "clients that dial only the first address (Node < 20, or Node with autoSelectFamily: false); these reach "
            "[::1]:3000: browsers and curl",
            "or dial [::1]:3000 instead of the name")),
    "family-mismatch-a-subdomain-in-the-hosts-file": (
        evidence("http://app.localhost:3000/", connected("::1", "http", 200), failed("127.0.0.1", "refused"),
                 resolved=("127.0.0.1",), hosts_mapped=("127.0.0.1",), listeners=(listener("::1", 3000, WEB),)),
        Row(["family-mismatch"], Severity.FAULT, "app.localhost resolves to 127.0.0.1 (getaddrinfo)",
            "make the server listen on both families")),
    "family-mismatch-another-name": (
        evidence("http://api.test:3000/", failed("2001:db8::5", "refused"), connected("127.0.0.1", "http", 200),
                 resolved=("2001:db8::5", "127.0.0.1"), listeners=HERE),
        Row(["family-mismatch", "ok"], Severity.WARNING,
            "these reach 127.0.0.1:3000: browsers, curl, Python (socket.create_connection: urllib, requests) and "
            "Node >= 20", "dial 127.0.0.1:3000 instead of the name")),
    "address-not-local": (
        evidence("198.51.100.7:3000", failed("198.51.100.7", "unreachable"), listeners=(UNHELD,)),
        Row(["address-not-local"], Severity.FAULT,
            "pid 4100 (node) listens on 198.51.100.7:3000, but no interface that is up holds 198.51.100.7 (removed "
            "after the server bound it, or its link is down): nothing can reach it",
            "add the address back to its interface (sudo ip addr add 198.51.100.7/PREFIX dev DEVICE)")),
    "address-not-local-not-a-firewall-reject": (
        evidence("198.51.100.7:3000", failed("198.51.100.7", "refused"), listeners=(UNHELD,), rules=(rule("reject"),)),
        Row(["address-not-local"], Severity.FAULT, "listens on 198.51.100.7:3000", "or bring its link up")),
    "address-not-local-scoped": (
        evidence("[fe80::5%eth0]:3000", failed("fe80::5%eth0", "timeout"),
                 listeners=(listener("fe80::5%eth0", 3000, WEB)._replace(reachable_on=()),)),
        Row(["address-not-local"], Severity.FAULT, "listens on [fe80::5%eth0]:3000, but no interface that is up holds "
            "fe80::5%eth0", "sudo ip addr add fe80::5/PREFIX dev eth0")),
    "address-not-local-the-only-listener-of-a-port": (
        evidence("localhost:3000", *REFUSED_BOTH, listeners=(UNHELD,)),
        Row(["address-not-local"], Severity.FAULT, "listens on 198.51.100.7:3000, but no interface", "ip -brief addr")),
    "address-not-local-a-mapped-address": (
        evidence("127.0.0.1:3000", failed("127.0.0.1", "refused"),
                 listeners=(listener("::ffff:203.0.113.9", 3000, WEB, dual_stack=False)._replace(reachable_on=()),)),
        Row(["address-not-local"], Severity.FAULT, "listens on [::ffff:203.0.113.9]:3000, but no interface that is up "
            "holds 203.0.113.9", "sudo ip addr add 203.0.113.9/PREFIX dev DEVICE")),
    "listening-elsewhere-never-suggests-a-mapped-address": (
        evidence("localhost:3000", *REFUSED_BOTH,
                 listeners=(listener("::ffff:127.0.0.2", 3000, WEB)._replace(reachable_on=("127.0.0.2",)),)),
        Row(["listening-elsewhere"], Severity.FAULT, "but port 3000 listens on [::ffff:127.0.0.2]:3000 by pid 4100",
            "dial 127.0.0.2:3000, or")),
    "hosts-misconfigured-not-loopback": (
        evidence("localhost:3000", connected("::1"), connected("127.0.0.1"), hosts_mapped=("203.0.113.50",)),
        Row(["hosts-misconfigured"], Severity.FAULT, "/etc/hosts maps localhost to 203.0.113.50, which is not loopback",
            "put these lines in /etc/hosts: 127.0.0.1 localhost and ::1 localhost")),
    "hosts-misconfigured-no-line": (
        evidence("localhost:3000", connected("127.0.0.1"), hosts_mapped=(), resolved=("127.0.0.1",)),
        Row(["hosts-misconfigured", "ok"], Severity.WARNING,
            "/etc/hosts has no line for localhost; getaddrinfo answers 127.0.0.1",
            "put these lines in /etc/hosts: 127.0.0.1 localhost and ::1 localhost")),
    "hosts-misconfigured-no-line-unresolvable": (
        evidence("localhost:3000", connected("127.0.0.1"), hosts_mapped=(), resolved=(),
                 resolve_error="Name or service not known"),
        Row(["hosts-misconfigured"], Severity.FAULT,
            "/etc/hosts has no line for localhost; getaddrinfo fails (Name or service not known)",
            "put these lines in /etc/hosts")),
    "localhost-subdomain": (
        evidence("http://app.localhost:3000/", HTTP_OK, hosts_mapped=()),
        Row(["localhost-subdomain", "ok"], Severity.WARNING,
            "app.localhost is loopback for browsers and curl (RFC 6761), but getaddrinfo",
            "add to /etc/hosts: 127.0.0.1 app.localhost and ::1 app.localhost")),
    "firewall-drop-by-a-rule": (
        evidence("http://127.0.0.1:3000/", failed("127.0.0.1", "timeout"), listeners=HERE, rules=(rule("drop"),)),
        Row(["firewall-drop"], Severity.FAULT,
            "connecting to 127.0.0.1:3000 timed out after 1 s: the SYN was dropped; matching rule: nftables table inet "
            "f chain input: tcp dport 3000 drop",
            "remove the rule: nft delete rule inet f input handle 7")),
    "firewall-drop-by-a-policy": (
        evidence("127.0.0.1:3000", failed("127.0.0.1", "timeout"), listeners=HERE, rules=(rule("drop", policy=True),)),
        Row(["firewall-drop"], Severity.FAULT, "matching rule: nftables table inet f chain input: policy drop",
            "remove the rule: nft insert rule inet f input tcp dport 3000 accept")),
    "firewall-drop-rules-unread": (
        evidence("127.0.0.1:3000", failed("127.0.0.1", "timeout"), listeners=HERE,
                 notes=("nft rules could not be read (Operation not permitted)",)),
        Row(["firewall-drop"], Severity.FAULT,
            "the SYN was dropped; no rule naming port 3000 was found (firewall rules unread: nft rules could not be "
            "read (Operation not permitted))",
            "look for the rule: sudo nft -a list ruleset | grep -w 3000")),
    "firewall-reject-by-a-rule": (
        evidence("127.0.0.1:3000", failed("127.0.0.1", "refused"), listeners=HERE, rules=(rule("reject"),)),
        Row(["firewall-reject"], Severity.FAULT,
            "127.0.0.1:3000 was refused: rejected by nftables table inet f chain input: tcp dport 3000 reject",
            "remove the rule: nft delete rule inet f input handle 7")),
    "firewall-reject-no-rule-found": (
        evidence("127.0.0.1:3000", failed("127.0.0.1", "refused"), listeners=HERE),
        Row(["firewall-reject"], Severity.FAULT,
            "127.0.0.1:3000 was refused although pid 4100 (node) listens on 127.0.0.1:3000: something rejects it; "
            "no rule naming port 3000 was found",
            "look for the rule: sudo nft -a list ruleset | grep -w 3000")),
    "firewall-reject-a-rule-for-other-interfaces-only": (
        evidence("127.0.0.1:3000", failed("127.0.0.1", "refused"), listeners=HERE,
                 rules=(rule("reject")._replace(interface=Condition(("lo",), negated=True)),)),
        Row(["firewall-reject"], Severity.FAULT, "something rejects it; no rule naming port 3000 was found",
            "look for the rule")),
    "firewall-reject-a-rule-for-another-interface-than-the-zone": (
        evidence("[fe80::5%eth0]:3000", failed("fe80::5%eth0", "refused"), listeners=(listener("fe80::5%eth0", 3000, WEB),),
                 rules=(rule("reject")._replace(interface=Condition(("eth1",))),)),
        Row(["firewall-reject"], Severity.FAULT, "[fe80::5%eth0]:3000 was refused although pid 4100 (node) listens on "
            "[fe80::5%eth0]:3000: something rejects it; no rule naming port 3000 was found", "look for the rule")),
    "not-accepting-full-queue": (
        evidence("127.0.0.1:3000", failed("127.0.0.1", "timeout"),
                 listeners=(listener("127.0.0.1", 3000, WEB, accept_queue=17, backlog=16),)),
        Row(["not-accepting"], Severity.FAULT,
            "connecting to 127.0.0.1:3000 timed out: the server's accept queue is full (accept queue 17, backlog 16)",
            "the server is stuck or overloaded")),
    "not-accepting-stopped": (
        evidence("http://127.0.0.1:3000/", connected("127.0.0.1", accepted=False), listeners=HERE, stopped=(WEB,)),
        Row(["not-accepting"], Severity.FAULT,
            "127.0.0.1:3000 completes the TCP handshake, but the server never accepts the connection; pid 4100 (node) "
            "is stopped",
            "resume it: kill -CONT 4100 (or fg in its shell)")),
    "wrong-scheme-tls-to-plain": (
        evidence("https://127.0.0.1:3000/app", connected("127.0.0.1", "http", 400, "Bad Request", other_scheme=True)),
        Row(["wrong-scheme"], Severity.FAULT,
            "127.0.0.1:3000 speaks plain HTTP, but the target asks for https (the answer was http 400 Bad Request)",
            "use http://127.0.0.1:3000/app")),
    "wrong-scheme-plain-to-tls": (
        evidence("http://localhost:3000/", failed("::1", "refused"), connected("127.0.0.1", "other", other_scheme=True)),
        Row(["wrong-scheme"], Severity.FAULT, "127.0.0.1:3000 speaks TLS, but the target asks for http",
            "use https://localhost:3000/")),
    "http-error": (
        evidence("http://127.0.0.1:3000/health", connected("127.0.0.1", "http", 503, "Service Unavailable")),
        Row(["http-error"], Severity.FAULT, "127.0.0.1:3000 answers GET /health with 503 Service Unavailable",
            "the server is reachable but failing: read its log or error output")),
    "no-answer": (
        evidence("http://127.0.0.1:3000/", connected("127.0.0.1", "silent")),
        Row(["no-answer"], Severity.FAULT, "127.0.0.1:3000 accepted the connection but sent nothing back",
            "see what the server does, and what it speaks: portside probe 127.0.0.1:3000")),
    "wrong-protocol": (
        evidence("http://127.0.0.1:3000/", connected("127.0.0.1", "other", detail="'220 mail.example ESMTP'")),
        Row(["wrong-protocol"], Severity.FAULT,
            "127.0.0.1:3000 does not speak http: it answered other (first bytes '220 mail.example ESMTP')",
            "see what it speaks: portside probe 127.0.0.1:3000")),
    "wrong-protocol-closed": (
        evidence("http://127.0.0.1:3000/", connected("127.0.0.1", "closed")),
        Row(["wrong-protocol"], Severity.FAULT, "it answered closed (nothing)", "portside probe 127.0.0.1:3000")),
    "proxy-env": (
        evidence("http://localhost:3000/", connected("::1", "http", 200), proxy=ProxyRoute(
            "http_proxy", "http://127.0.0.1:9", "")),
        Row(["proxy-env"], Severity.FAULT,
            "http_proxy=http://127.0.0.1:9 would carry the request (curl, wget, Python, Node read it) and no_proxy is "
            "not set",
            "export no_proxy=localhost,127.0.0.1,::1,.localhost")),
    "proxy-env-bare-port": (
        evidence("3000", connected("127.0.0.1"), proxy=ProxyRoute("all_proxy", "socks5://127.0.0.1:9", "example.com")),
        Row(["proxy-env", "ok"], Severity.WARNING, "no_proxy='example.com' does not cover localhost",
            "NO_PROXY=localhost,127.0.0.1,::1,.localhost")),
}

LISTEN = ListenEvidence(port=61000, holders=(), time_wait=0, ephemeral=KERNEL_RANGE, unprivileged_start=1024,
                        root=False)

LISTEN_ROWS: dict[str, tuple[ListenEvidence, Row]] = {
    "ok": (LISTEN, Row(["ok"], Severity.INFO, "nothing stands in the way", "none needed")),
    "port-in-use": (
        LISTEN._replace(holders=(listener("::1", 61000, WEB), listener("0.0.0.0", 61000, process(4101, "nginx")))),
        Row(["port-in-use"], Severity.FAULT,
            "[::1]:61000 held by pid 4100 (node); 0.0.0.0:61000 held by pid 4101 (nginx)",
            "stop it (`portside kill 61000`) or use another port: PORT=$(portside pick)")),
    "port-in-use-by-a-container": (
        LISTEN._replace(holders=(listener("0.0.0.0", 61000, process(4102, "docker-proxy"))._replace(
            container=Container(Engine.DOCKER, "c1" * 32, "web", "nginx", 80, "172.17.0.2", "running", "docker-proxy",
                                ContainerSource.API)),)),
        Row(["port-in-use"], Severity.FAULT, "0.0.0.0:61000 held by pid 4102 (docker-proxy)",
            "stop the docker container web (nginx): `docker stop web`, or use another port")),
    "port-in-use-hidden-owner": (
        LISTEN._replace(holders=(listener("127.0.0.1", 61000),)),
        Row(["port-in-use"], Severity.FAULT, "127.0.0.1:61000 held by an owner not visible to you", "portside kill")),
    "time-wait": (
        LISTEN._replace(time_wait=3),
        Row(["time-wait"], Severity.WARNING,
            "3 closed connection(s) on port 61000 are in TIME_WAIT (up to 60 s)",
            "bind with SO_REUSEADDR")),
    "ephemeral-range": (
        LISTEN._replace(port=40000),
        Row(["ephemeral-range"], Severity.WARNING,
            "port 40000 is in the kernel's ephemeral range 32768-60999 (net.ipv4.ip_local_port_range)",
            "use a port outside it: PORT=$(portside pick)")),
    "privileged-port-root": (
        LISTEN._replace(port=80, root=True),
        Row(["privileged-port"], Severity.INFO, "port 80 is below 1024 (net.ipv4.ip_unprivileged_port_start); root may",
            "none needed as root; other users need CAP_NET_BIND_SERVICE or a port >= 1024")),
    "privileged-port-user": (
        LISTEN._replace(port=80),
        Row(["privileged-port"], Severity.FAULT, "port 80 is below 1024 (net.ipv4.ip_unprivileged_port_start) and this",
            "sudo setcap cap_net_bind_service=+ep /path/to/server")),
    "faults-before-warnings": (
        LISTEN._replace(port=80, holders=HERE, time_wait=1),
        Row(["port-in-use", "privileged-port", "time-wait"], Severity.FAULT, "127.0.0.1:3000 held by pid 4100",
            "portside kill 80")),
}


def check(findings: list[Any], row: Row) -> None:
    assert [finding.code for finding in findings] == row.codes, findings
    first = findings[0]
    assert first.severity is row.severity
    assert row.observed in first.observed, first.observed
    assert row.fix in first.fix, first.fix


@pytest.mark.parametrize(("made", "row"), TARGET_ROWS.values(), ids=TARGET_ROWS.keys())
def test_diagnose_target(made: TargetEvidence, row: Row) -> None:
    check(diagnose_target(made), row)


@pytest.mark.parametrize(("made", "row"), LISTEN_ROWS.values(), ids=LISTEN_ROWS.keys())
def test_diagnose_listen(made: ListenEvidence, row: Row) -> None:
    check(diagnose_listen(made), row)


@pytest.mark.parametrize("made", [
    evidence("http://app.localhost:3000/", HTTP_OK, hosts_mapped=(), nss_localhost=True),  # NSS answers *.localhost
    evidence("http://app.localhost:3000/", HTTP_OK, hosts_mapped=("127.0.0.1",)),
    evidence("localhost:3000", connected("::1"), connected("127.0.0.1"), hosts_mapped=("127.0.0.1", "::1"),
             resolved=("::1", "127.0.0.1")),
    evidence("localhost:3000", failed("::1", "refused"), connected("127.0.0.1"), resolved=("127.0.0.1", "::1")),
    evidence("127.0.0.1:3000", connected("127.0.0.1"), rules=(rule("drop", 4000), rule("reject", 4000))),
], ids=["nss-answers-subdomains", "subdomain-in-hosts", "healthy-hosts", "first-family-answers", "rules-elsewhere"])
def test_what_is_not_a_finding(made: TargetEvidence) -> None:
    assert [finding.code for finding in diagnose_target(made)] == ["ok"]


def codes_in_judge() -> list[object]:
    """The first argument of each Finding(...) in judge.py's source: the codes it can emit."""
    tree = ast.parse(inspect.getsource(judge))
    return [call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else ast.unparse(call)
            for call in ast.walk(tree)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Finding"]


def test_every_code_of_the_judge_has_a_row() -> None:
    found = codes_in_judge()
    assert all(isinstance(code, str) and code.islower() for code in found), f"a code that is not a literal: {found}"
    tabled = {code for _, row in [*TARGET_ROWS.values(), *LISTEN_ROWS.values()] for code in row.codes}
    assert set(found) == tabled, (
        f"codes without a row: {sorted(set(found) - tabled)}; rows for no code: {sorted(tabled - set(found))}")
