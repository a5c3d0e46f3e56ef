"""`portside probe` against real servers started on loopback ports of the tests' own."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import servers
from support import unleased_port


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        servers.stop(proc)


def attempt_on(cli, target: str, address: str = "127.0.0.1") -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("probe", target, "--json")
    assert result.status == 0, result.stderr
    (found,) = [a for a in result.json()["attempts"] if a["address"] == address]
    assert found["tcp"] == "connected" and found["connect_ms"] >= 0
    return found  # type: ignore[no-any-return]


SERVERS: dict[str, Callable[[Path, int], subprocess.Popen[bytes]]] = {
    "nginx": lambda where, port: servers.nginx(where, port, tls=False),
    "nginx-tls": lambda where, port: servers.nginx(where, port, tls=True),
    "redis": servers.redis,
    "redis-auth": lambda where, port: servers.redis(where, port, password="s3cret"),
    "memcached": lambda where, port: servers.memcached(port),
    "openssh": servers.sshd,
    "postgresql": servers.postgres,
    "mariadb": servers.mariadb,
}
EXPECTED = {
    "nginx": ("http", {"status": 200}),
    "nginx-tls": ("tls", {"subject": "CN=localhost", "dns_names": ["localhost"], "self_signed": True}),
    "redis": ("redis", {"auth_required": False}),
    "redis-auth": ("redis", {"auth_required": True}),
    "memcached": ("memcached", {}),
    "openssh": ("ssh", {}),
    "postgresql": ("postgresql", {"ssl": False}),
    "mariadb": ("mysql", {"flavour": "mariadb"}),
}


@pytest.mark.servers
@pytest.mark.parametrize("name", SERVERS)
def test_probe_names_the_real_server(cli, started, tmp_path: Path, name: str) -> None:
    port = unleased_port()
    started.append(SERVERS[name](tmp_path, port))
    found = attempt_on(cli, f"localhost:{port}")
    protocol, details = EXPECTED[name]
    assert found["protocol"] == protocol, found
    assert {key: found["details"].get(key) for key in details} == details
    if name == "nginx":
        assert found["details"]["server"].startswith("nginx/")
    if name == "openssh":
        assert found["details"]["software"].startswith("OpenSSH_")
    if name == "nginx-tls":
        assert found["details"]["version"] in ("TLSv1.2", "TLSv1.3") and found["details"]["not_after"]


@pytest.mark.servers
def test_https_target_speaks_tls_first(cli, started, tmp_path: Path) -> None:
    port = unleased_port()
    started.append(servers.nginx(tmp_path, port, tls=True))
    found = attempt_on(cli, f"https://localhost:{port}/")
    assert found["protocol"] == "tls" and found["details"]["alpn"] in ("http/1.1", None)


def test_python_http_server_and_both_families(cli, started, tmp_path: Path) -> None:
    port = unleased_port()
    started.append(servers.start([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], port))
    result = cli("probe", f"localhost:{port}", "--json")
    attempts = {a["address"]: a for a in result.json()["attempts"]}
    assert list(attempts) == ["::1", "127.0.0.1"]
    assert attempts["::1"]["tcp"] == "refused" and attempts["::1"]["protocol"] is None
    assert attempts["127.0.0.1"]["protocol"] == "http" and attempts["127.0.0.1"]["details"]["status"] == 200
    text = cli("probe", f"localhost:{port}").stdout.splitlines()
    assert text[0].startswith(f"[::1]:{port}  refused") and "http (status 200" in text[1]


def test_unknown_server_shows_its_first_bytes(cli) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        for _ in range(8):
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(b"HELLO weird-proto 1.0\r\n")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        found = attempt_on(cli, f"127.0.0.1:{port}")
    finally:
        server.close()
    assert found["protocol"] == "unknown" and found["details"]["text"].startswith("HELLO weird-proto")


def test_nothing_listening_is_exit_1(cli) -> None:
    port = unleased_port()
    result = cli("probe", f"localhost:{port}", "--json")
    assert result.status == 1
    assert [(a["address"], a["tcp"]) for a in result.json()["attempts"]] == [("::1", "refused"), ("127.0.0.1", "refused")]


MANY_FILES = """
import os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
from portside.cli.main import main
sys.exit(main(["probe", sys.argv[1]]))
"""


def test_a_caller_with_descriptors_past_1024_can_probe(hold) -> None:
    """select(2) refuses descriptors of 1024 and above (the TUI's `o` key met it in a long test run): the probe's
    socket is numbered past 1024 here, and the probe still listens for a greeting and answers."""
    silent = hold("tcp:127.0.0.1:0")
    done = subprocess.run([sys.executable, "-c", MANY_FILES, f"127.0.0.1:{silent.port}"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode in (0, 1), done.stderr
    assert "unexpected error" not in done.stderr
