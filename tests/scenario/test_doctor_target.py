"""`portside doctor TARGET`: every finding code built for real, and `ok` for a healthy service.

Servers are this test's own (tests/webapp.py, nginx); firewall rules live only in network
namespaces the tests create; /etc/hosts is replaced only inside a private mount namespace.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import servers
from support import Namespace, hosts_prefix, needs, unleased_port


def doctor(*argv: str, prefix: list[str] | None = None, env: dict[str, str] | None = None,
           ) -> tuple[int, dict, float]:  # type: ignore[type-arg]
    """Run the real CLI in a process of its own (so prefixes can change its namespaces); status, JSON, seconds."""
    began = time.monotonic()
    out = subprocess.run([*(prefix or []), sys.executable, "-m", "portside", "doctor", *argv, "--json"],
                         capture_output=True, text=True, check=False, env=env)
    took = time.monotonic() - began
    assert not out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout), took


def codes(report: dict) -> list[str]:  # type: ignore[type-arg]
    return [finding["code"] for finding in report["findings"]]


def finding(report: dict, code: str) -> dict:  # type: ignore[type-arg]
    (found,) = [f for f in report["findings"] if f["code"] == code]
    assert set(found) >= {"code", "severity", "observed", "fix"}
    return found  # type: ignore[no-any-return]


def test_ok_for_a_healthy_http_service(webapp) -> None:
    app = webapp("127.0.0.1")
    status, report, _ = doctor(f"http://127.0.0.1:{app.port}/")
    assert status == 0 and codes(report) == ["ok"]
    assert "HTTP 200" in finding(report, "ok")["observed"] and finding(report, "ok")["severity"] == "info"
    assert report["target"] == f"http://127.0.0.1:{app.port}/"


def test_ok_for_a_bare_port_served_on_both_families(webapp) -> None:
    app = webapp("127.0.0.1", "::1")
    status, report, _ = doctor(str(app.port))
    assert status == 0 and codes(report) == ["ok"]


def test_nothing_listening() -> None:
    port = unleased_port()
    status, report, _ = doctor(f"localhost:{port}")
    assert status == 1 and codes(report) == ["nothing-listening"]
    assert finding(report, "nothing-listening")["severity"] == "fault"


def test_listening_on_another_loopback_address(webapp) -> None:
    app = webapp("127.0.0.2")
    status, report, _ = doctor(f"localhost:{app.port}")
    assert status == 1 and codes(report) == ["listening-elsewhere"]
    found = finding(report, "listening-elsewhere")
    assert f"127.0.0.2:{app.port}" in found["observed"] and f"pid {app.pid}" in found["observed"]
    assert f"127.0.0.2:{app.port}" in found["fix"]


@pytest.mark.root
def test_hosts_maps_localhost_elsewhere(tmp_path: Path) -> None:
    """In an empty network namespace too, so nothing could leave this machine even if something dialled out."""
    port = unleased_port()
    prefix = hosts_prefix(tmp_path, "203.0.113.50 localhost\n", net=True)
    status, report, _ = doctor(f"localhost:{port}", prefix=prefix)
    assert status == 1 and codes(report)[0] == "hosts-misconfigured"
    assert "203.0.113.50" in finding(report, "hosts-misconfigured")["observed"]
    assert "127.0.0.1 localhost" in finding(report, "hosts-misconfigured")["fix"]


@pytest.mark.root
def test_hosts_without_localhost(tmp_path: Path) -> None:
    port = unleased_port()
    prefix = hosts_prefix(tmp_path, "127.0.0.1 something-else\n", net=True)
    status, report, _ = doctor(f"localhost:{port}", prefix=prefix)
    assert status == 1 and "hosts-misconfigured" in codes(report)
    found = finding(report, "hosts-misconfigured")
    assert "no line for localhost" in found["observed"] and found["severity"] == "fault"


@pytest.mark.root
def test_healthy_hosts_file_gives_no_hosts_finding(webapp, tmp_path: Path) -> None:
    app = webapp("127.0.0.1", "::1")
    prefix = hosts_prefix(tmp_path, "127.0.0.1 localhost\n::1 localhost ip6-localhost\n")
    status, report, _ = doctor(f"localhost:{app.port}", prefix=prefix)
    assert status == 0 and codes(report) == ["ok"]


@pytest.mark.root
@pytest.mark.parametrize(("hosts", "nsswitch", "expected"), [
    ("127.0.0.1 localhost\n", "hosts: files dns\n", ["localhost-subdomain", "ok"]),
    ("127.0.0.1 localhost app.localhost\n::1 app.localhost\n", "hosts: files dns\n", ["ok"]),
    ("127.0.0.1 localhost\n", "hosts: files myhostname dns\n", ["ok"]),
])
def test_localhost_subdomains_for_getaddrinfo_clients(webapp, tmp_path: Path, hosts: str, nsswitch: str,
                                                      expected: list[str]) -> None:
    app = webapp("127.0.0.1", "::1")
    prefix = hosts_prefix(tmp_path, hosts, nsswitch=nsswitch)
    status, report, _ = doctor(f"http://app.localhost:{app.port}/", prefix=prefix)
    assert status == 0 and codes(report) == expected
    if "localhost-subdomain" in expected:
        assert finding(report, "localhost-subdomain")["fix"].startswith("add to /etc/hosts: 127.0.0.1 app.localhost")


def nft(ns: Namespace, *rules: str) -> None:
    script = "add table inet doctortest\nadd chain inet doctortest input { type filter hook input priority 0; }\n"
    script += "".join(f"add rule inet doctortest input {rule}\n" for rule in rules)
    subprocess.run([*ns.prefix(), "nft", "-f", "-"], input=script, text=True, check=True)


def test_firewall_drop_names_the_rule_and_its_fix_works(webapp, netns: Namespace) -> None:
    needs("nft")
    app = webapp("127.0.0.1", prefix=netns.prefix())
    nft(netns, f"tcp dport {app.port} drop")
    status, report, took = doctor(f"http://127.0.0.1:{app.port}/", prefix=netns.prefix())
    assert status == 1 and codes(report) == ["firewall-drop"]
    found = finding(report, "firewall-drop")
    assert f"tcp dport {app.port} drop" in found["observed"] and "timed out" in found["observed"]
    assert took < 3.0, f"doctor took {took:.2f} s against a dropping firewall"
    assert found["fix"].startswith("remove the rule: nft delete rule inet doctortest input handle ")
    subprocess.run([*netns.prefix(), *found["fix"].removeprefix("remove the rule: ").split()], check=True)
    status, report, _ = doctor(f"http://127.0.0.1:{app.port}/", prefix=netns.prefix())
    assert status == 0 and codes(report) == ["ok"]


def test_firewall_reject_names_the_rule(webapp, netns: Namespace) -> None:
    needs("nft")
    app = webapp("127.0.0.1", "::1", prefix=netns.prefix())
    nft(netns, f"ip daddr 127.0.0.1 tcp dport {{ 1, {app.port} }} reject with tcp reset")
    status, report, _ = doctor(f"127.0.0.1:{app.port}", prefix=netns.prefix())
    assert status == 1 and codes(report) == ["firewall-reject"]
    found = finding(report, "firewall-reject")
    assert "refused: rejected by nftables table inet doctortest chain input" in found["observed"]
    assert "ip daddr 127.0.0.1" in found["observed"]
    status, report, _ = doctor(f"[::1]:{app.port}", prefix=netns.prefix())
    assert status == 0 and codes(report) == ["ok"]


@pytest.mark.parametrize("tool", ["iptables", "iptables-legacy"])
def test_iptables_reject_rule_is_found(webapp, netns: Namespace, tool: str) -> None:
    needs(tool)
    app = webapp("127.0.0.1", prefix=netns.prefix())
    rule = ["INPUT", "-p", "tcp", "--dport", str(app.port), "-j", "REJECT", "--reject-with", "tcp-reset"]
    subprocess.run([*netns.prefix(), tool, "-A", *rule], check=True)
    status, report, _ = doctor(f"127.0.0.1:{app.port}", prefix=netns.prefix())
    assert status == 1 and codes(report) == ["firewall-reject"]
    found = finding(report, "firewall-reject")
    assert str(app.port) in found["observed"]
    subprocess.run([*netns.prefix(), *found["fix"].removeprefix("remove the rule: ").split()], check=True)
    status, report, _ = doctor(f"127.0.0.1:{app.port}", prefix=netns.prefix())
    assert status == 0 and codes(report) == ["ok"]


def test_stopped_server_is_not_accepting(webapp) -> None:
    app = webapp("127.0.0.1")
    os.kill(app.pid, signal.SIGSTOP)
    try:
        status, report, _ = doctor(f"http://127.0.0.1:{app.port}/")
    finally:
        os.kill(app.pid, signal.SIGCONT)
    assert status == 1 and codes(report) == ["not-accepting"]
    found = finding(report, "not-accepting")
    assert f"pid {app.pid} (python" in found["observed"] and "is stopped" in found["observed"]
    assert found["fix"].startswith(f"resume it: kill -CONT {app.pid}")
    status, report, _ = doctor(f"http://127.0.0.1:{app.port}/")
    assert status == 0 and codes(report) == ["ok"]


def test_full_accept_queue_is_not_accepting(hold) -> None:
    """A listener that never accepts (backlog 16): fill its queue until the kernel drops further SYNs."""
    held = hold("tcp:127.0.0.1:0")
    clients = []
    try:
        for _ in range(64):
            client = socket.socket()
            client.settimeout(0.2)
            try:
                client.connect(("127.0.0.1", held.port))
            except TimeoutError:
                client.close()
                break
            clients.append(client)
        else:
            pytest.fail("the accept queue never filled")
        status, report, _ = doctor(f"127.0.0.1:{held.port}")
    finally:
        for client in clients:
            client.close()
    assert status == 1 and codes(report) == ["not-accepting"]
    assert "accept queue is full" in finding(report, "not-accepting")["observed"]


def test_listener_that_never_accepts(hold) -> None:
    held = hold("tcp:127.0.0.1:0")
    status, report, _ = doctor(f"127.0.0.1:{held.port}")
    assert status == 1 and codes(report) == ["not-accepting"]
    assert "never accepts" in finding(report, "not-accepting")["observed"]


def test_tls_spoken_to_a_plain_server(webapp) -> None:
    app = webapp("127.0.0.1")
    status, report, _ = doctor(f"https://127.0.0.1:{app.port}/")
    assert status == 1 and codes(report) == ["wrong-scheme"]
    found = finding(report, "wrong-scheme")
    assert "speaks plain HTTP" in found["observed"] and found["fix"] == f"use http://127.0.0.1:{app.port}/"


@pytest.mark.servers
def test_plain_http_spoken_to_a_tls_server(tmp_path: Path) -> None:
    port = unleased_port()
    proc = servers.nginx(tmp_path, port, tls=True)
    try:
        status, report, _ = doctor(f"http://127.0.0.1:{port}/")
        ok_status, ok_report, _ = doctor(f"https://127.0.0.1:{port}/")
    finally:
        servers.stop(proc)
    assert status == 1 and codes(report) == ["wrong-scheme"]
    found = finding(report, "wrong-scheme")
    assert "speaks TLS" in found["observed"] and found["fix"] == f"use https://127.0.0.1:{port}/"
    assert ok_status == 0 and codes(ok_report) == ["ok"] and "nginx" in finding(ok_report, "ok")["observed"]


def test_proxy_variables_would_carry_the_request(webapp) -> None:
    app = webapp("127.0.0.1")
    env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    status, report, _ = doctor(f"http://localhost:{app.port}/", env={**env, "http_proxy": "http://127.0.0.1:9"})
    assert status == 1 and codes(report) == ["proxy-env"]
    assert "http_proxy=http://127.0.0.1:9" in finding(report, "proxy-env")["observed"]
    covered = {**env, "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "example.com,localhost"}
    status, report, _ = doctor(f"http://localhost:{app.port}/", env=covered)
    assert status == 0 and codes(report) == ["ok"]
    other_scheme = {**env, "https_proxy": "http://127.0.0.1:9"}
    status, report, _ = doctor(f"http://localhost:{app.port}/", env=other_scheme)
    assert status == 0 and codes(report) == ["ok"]


def test_server_error_is_http_error(webapp) -> None:
    app = webapp("127.0.0.1", "--status", "503")
    status, report, _ = doctor(f"http://127.0.0.1:{app.port}/health")
    assert status == 1 and codes(report) == ["http-error"]
    assert "GET /health with 503" in finding(report, "http-error")["observed"]


def test_client_error_is_not_a_fault(webapp) -> None:
    app = webapp("127.0.0.1", "--status", "404")
    status, report, _ = doctor(f"http://127.0.0.1:{app.port}/")
    assert status == 0 and codes(report) == ["ok"] and "HTTP 404" in finding(report, "ok")["observed"]


def test_accepting_but_silent_http_server(webapp) -> None:
    app = webapp("127.0.0.1", "--silent")
    status, report, _ = doctor(f"http://127.0.0.1:{app.port}/")
    assert status == 1 and codes(report) == ["no-answer"]


def test_server_speaking_another_protocol(webapp) -> None:
    app = webapp("127.0.0.1", "--say", "220 mail.example ESMTP")
    status, report, _ = doctor(f"http://127.0.0.1:{app.port}/")
    assert status == 1 and codes(report) == ["wrong-protocol"]
    status, report, _ = doctor(f"127.0.0.1:{app.port}")
    assert status == 0 and codes(report) == ["ok"]


def test_listener_in_another_network_namespace(webapp, netns: Namespace) -> None:
    app = webapp("127.0.0.1", prefix=netns.prefix())
    status, report, _ = doctor(str(app.port))
    assert status == 1 and codes(report) == ["other-namespace"]
    found = finding(report, "other-namespace")
    assert f"netns {netns.name}" in found["observed"] and f"pid {app.pid}" in found["observed"]
    assert f"nsenter --net --target {app.pid}" in found["fix"]


@pytest.mark.root
def test_unresolvable_name_is_exit_2() -> None:
    needs("unshare")
    out = subprocess.run(["unshare", "--net", sys.executable, "-m", "portside", "doctor", "no-such-host.invalid:80"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2 and "cannot resolve host name" in out.stderr and out.stderr.count("\n") == 1
