"""A flood of TLS handshakes naming hosts that do not route costs the proxy nothing lasting.

Any web page can make a browser open `https://<random>.localhost:PORT`: one handshake per name.
Only names that route get a leaf of their own; the others are served the `localhost`
certificate, so a typo'd name still reaches the proxy's "unknown name" page once the user
accepts the name mismatch. Leaves are an LRU of at most MAX_LEAVES, on disk and in memory.
The clients are Python's ssl over loopback, in a thread pool; the proxy is a real one.
"""

from __future__ import annotations

import socket
import ssl
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography import x509
from support import BACKEND

from portside.router import control
from portside.router.tls.localca import MAX_LEAVES, ensure_ca, leaf_path, load_ca

FLOOD = 2_000
RSS_GROWTH_KB = 4_096


def _unverified() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _names_in_certificate(port: int, server_name: str, context: ssl.SSLContext | None = None) -> list[str]:
    """The DNS names of the certificate the proxy presents for `server_name` (not verified)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            (context or _unverified()).wrap_socket(raw, server_hostname=server_name) as sock:
        der = sock.getpeercert(binary_form=True)
    assert der is not None
    names = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return names.value.get_values_for_type(x509.DNSName)


def _flood(port: int, names: Iterable[str], check: Callable[[str, list[str]], None]) -> float:
    """One handshake per name, 16 at a time; `check(name, names in the certificate)` for each. Seconds taken."""
    began = time.monotonic()
    context = _unverified()
    with ThreadPoolExecutor(16) as pool:
        for name, presented in pool.map(lambda name: (name, _names_in_certificate(port, name, context)), names):
            check(name, presented)
    return time.monotonic() - began


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def _leaves(state_home: Path) -> list[Path]:
    return sorted((state_home / "tls" / "hosts").glob("*.pem"))


def _verified_get(port: int, host: str, ca: Path) -> bytes:
    """GET / on `host` over TLS, the certificate verified against the local CA; the response's head and body."""
    context = ssl.create_default_context(cafile=str(ca))
    context.set_alpn_protocols(["http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=host) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: %s\r\nAccept: text/plain\r\nConnection: close\r\n\r\n" % host.encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


def test_a_flood_of_unknown_names_leaves_no_files_and_no_memory(start_run, proxy_port: int,
                                                                state_home: Path) -> None:
    start_run("app", sys.executable, BACKEND, "{port}", extra=("--https",))
    proxy = control.running()
    assert proxy is not None
    ca = state_home / "tls" / "ca.pem"

    def fallback(name: str, presented: list[str]) -> None:
        assert presented == ["localhost"], f"{name} got a certificate of its own: {presented}"

    _flood(proxy_port, (f"warm{i}.localhost" for i in range(200)), fallback)  # the allocator's pools, filled once
    time.sleep(0.2)
    rss, fds, files = _status(proxy.pid, "VmRSS"), _open_fds(proxy.pid), _leaves(state_home)
    took = _flood(proxy_port, (f"r{i}.localhost" for i in range(FLOOD)), fallback)
    assert took < 60, f"{FLOOD} handshakes took {took:.1f} s"
    deadline = time.monotonic() + 5
    while _open_fds(proxy.pid) > fds and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _open_fds(proxy.pid) <= fds, "the flood's connections are all closed: the proxy settled"
    grown = _status(proxy.pid, "VmRSS") - rss
    assert grown <= RSS_GROWTH_KB, f"the proxy grew by {grown} kB over {FLOOD} unknown names"
    assert _leaves(state_home) == files, "no leaf file was made for a name that does not route"

    reply = _verified_get(proxy_port, "app.localhost", ca)
    assert reply.startswith(b"HTTP/1.1 200") and b"hello from the backend" in reply, "a routed name still works"
    assert _names_in_certificate(proxy_port, "app.localhost") == ["app.localhost"]
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=10) as raw, \
            _unverified().wrap_socket(raw, server_hostname="nmae.localhost") as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: nmae.localhost\r\nConnection: close\r\n\r\n")
        typo = b""
        while chunk := sock.recv(65536):
            typo += chunk
    assert typo.startswith(b"HTTP/1.1 404"), "a typo'd name reaches the proxy's own page"
    assert f"https://app.localhost:{proxy_port}/".encode() in typo, "which lists the live routes"


def test_a_name_routed_after_the_flood_gets_its_own_leaf(start_run, proxy_port: int, state_home: Path) -> None:
    start_run("app", sys.executable, BACKEND, "{port}", extra=("--https",))
    ca = state_home / "tls" / "ca.pem"
    assert _names_in_certificate(proxy_port, "later.localhost") == ["localhost"], "not routed yet"
    _flood(proxy_port, (f"r{i}.localhost" for i in range(FLOOD // 4)), lambda name, presented: None)
    start_run("later", sys.executable, BACKEND, "{port}", extra=("--https",))
    reply = _verified_get(proxy_port, "later.localhost", ca)
    assert reply.startswith(b"HTTP/1.1 200"), "the leaf verifies against the local CA"
    assert _names_in_certificate(proxy_port, "api.later.localhost") == ["api.later.localhost"], "a subdomain routes"


def test_leaves_of_routed_subdomains_are_a_bounded_lru(start_run, proxy_port: int, state_home: Path) -> None:
    start_run("app", sys.executable, BACKEND, "{port}", extra=("--https",))
    ca = state_home / "tls" / "ca.pem"
    verified = ssl.create_default_context(cafile=str(ca))

    def own(name: str, presented: list[str]) -> None:
        assert presented == [name]

    names = [f"s{i}.app.localhost" for i in range(MAX_LEAVES + 44)]
    _flood(proxy_port, names, own)
    assert len(_leaves(state_home)) <= MAX_LEAVES, "the oldest leaves were removed"
    assert _names_in_certificate(proxy_port, names[0], verified) == [names[0]], "an evicted name is made again"
    assert _names_in_certificate(proxy_port, "app.localhost", verified) == ["app.localhost"]
    assert len(_leaves(state_home)) <= MAX_LEAVES


def test_the_leaf_files_are_least_recently_used_first_out(state_home: Path) -> None:
    ensure_ca()
    ca = load_ca()
    assert ca is not None
    kept = leaf_path("kept.localhost", ca)
    first = [leaf_path(f"a{i}.localhost", ca) for i in range(MAX_LEAVES - 56)]
    made = kept.stat().st_ino
    assert leaf_path("kept.localhost", ca) == kept and kept.stat().st_ino == made, "reused, and marked as used"
    later = [leaf_path(f"b{i}.localhost", ca) for i in range(100)]
    assert len(_leaves(state_home)) <= MAX_LEAVES
    assert kept.exists() and all(path.exists() for path in later), "the recently used stay"
    assert not any(path.exists() for path in first[:45]), "the least recently used went"
