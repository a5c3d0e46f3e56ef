"""HTTPS on the proxy: the local CA, per-host leaves, HTTP/2 and HTTP/1.1 over TLS, and `portside trust`.

Clients are real and independent of our code where it counts: curl (nghttp2) for HTTP/2,
Python's ssl for HTTP/1.1 over TLS and for wss://, openssl for certificate checks, and
update-ca-certificates and certutil for the trust stores (in a mount namespace, so the
machine's own store is never touched).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import BACKEND, get
from websockets.sync.client import connect as ws_connect

from portside.router.tls.certs import make_leaf
from portside.router.tls.localca import ensure_ca, leaf_path, load_ca

PATTERN = bytes(range(256))


def https_app(start_run, name: str = "app"):  # type: ignore[no-untyped-def]
    return start_run(name, sys.executable, BACKEND, "{port}", extra=("--https",))


def curl(proxy_port: int, *args: str, name: str = "app", cacert: Path | None = None
         ) -> subprocess.CompletedProcess[bytes]:
    trust = ["--cacert", str(cacert)] if cacert else []
    return subprocess.run(["curl", "-sS", "--max-time", "20", "--noproxy", "*", *trust,
                           "--resolve", f"{name}.localhost:{proxy_port}:127.0.0.1", *args],
                          capture_output=True, timeout=30, check=False)


def tls_socket(proxy_port: int, host: str, cafile: Path, alpn: list[str] | None = None) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(cafile))
    if alpn:
        context.set_alpn_protocols(alpn)
    raw = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
    return context.wrap_socket(raw, server_hostname=host)


def ca_file(state_home: Path) -> Path:
    return state_home / "tls" / "ca.pem"


def test_run_https_serves_http2_with_a_leaf_for_that_name(start_run, proxy_port: int, state_home: Path) -> None:
    app = https_app(start_run)
    assert app.url == f"https://app.localhost:{proxy_port}/"
    done = curl(proxy_port, "--http2", "-w", "\n%{http_version}", app.url + "echo", cacert=ca_file(state_home))
    body, _, version = done.stdout.rpartition(b"\n")
    assert done.returncode == 0, done.stderr
    assert version == b"2", "the browser-facing protocol is HTTP/2, agreed by ALPN"
    seen = json.loads(body)
    assert seen["headers"]["x-forwarded-proto"] == "https"
    assert seen["headers"]["host"] == seen["headers"]["x-forwarded-host"] == f"app.localhost:{proxy_port}"
    with tls_socket(proxy_port, "app.localhost", ca_file(state_home)) as sock:
        cert = sock.getpeercert()
    assert cert is not None and cert["subjectAltName"] == (("DNS", "app.localhost"),), "one name, no wildcard"


def test_http2_bodies_both_ways_head_and_multiplexing(start_run, proxy_port: int, state_home: Path,
                                                      tmp_path: Path) -> None:
    app = https_app(start_run)
    ca = ca_file(state_home)
    size = 3_000_000
    done = curl(proxy_port, "--http2", "-o", str(tmp_path / "big"), f"{app.url}bytes/{size}", cacert=ca)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "big").read_bytes() == (PATTERN * (size // 256 + 1))[:size], "flow control kept every byte"
    upload = os.urandom(1_500_000)
    (tmp_path / "up").write_bytes(upload)
    done = curl(proxy_port, "--http2", "--data-binary", f"@{tmp_path / 'up'}", app.url + "echo", cacert=ca)
    seen = json.loads(done.stdout)
    assert seen["body_length"] == len(upload) and seen["body_sha256"] == hashlib.sha256(upload).hexdigest()
    done = curl(proxy_port, "--http2", "-T", str(tmp_path / "up"), "-X", "POST", "-H", "Content-Length:",
                app.url + "echo", cacert=ca)
    seen = json.loads(done.stdout)
    assert seen["headers"]["transfer-encoding"] == "chunked" and seen["body_length"] == len(upload)
    done = curl(proxy_port, "--http2", "-I", app.url, "-w", "%{http_version} %{http_code}", cacert=ca)
    assert done.stdout.endswith(b"2 200") and b"content-length" in done.stdout.lower()
    urls = [f"{app.url}chunked" for _ in range(4)] + [f"{app.url}sse" for _ in range(4)]
    done = curl(proxy_port, "--http2", "-Z", "--parallel-max", "8", "-w", "[%{http_version} %{num_connects}]",
                *urls, cacert=ca)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(b"piece 4\n") == 4 and done.stdout.count(b"data: event 2") == 4
    connects = [int(part.split(b" ")[1].split(b"]")[0]) for part in done.stdout.split(b"[")[1:]]
    assert sum(connects) == 1 and done.stdout.count(b"[2 ") == 8, "eight streams on one HTTP/2 connection"


def test_sse_streams_over_http2(start_run, proxy_port: int, state_home: Path) -> None:
    app = https_app(start_run)
    args = ["curl", "-sS", "-N", "--http2", "--noproxy", "*", "--cacert", str(ca_file(state_home)),
            "--resolve", f"app.localhost:{proxy_port}:127.0.0.1", app.url + "sse"]
    began = time.monotonic()
    with subprocess.Popen(args, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        took = time.monotonic() - began
        rest = proc.stdout.read()
    assert first == b"data: event 0\n" and b"data: event 2" in rest
    assert took < 0.4, f"the first event took {took:.2f} s: the stream was buffered"


def test_http11_over_tls_websocket_and_plain_http_share_the_port(start_run, proxy_port: int,
                                                                 state_home: Path) -> None:
    https_app(start_run)
    ca = ca_file(state_home)
    with tls_socket(proxy_port, "app.localhost", ca, alpn=["http/1.1"]) as sock:
        assert sock.selected_alpn_protocol() == "http/1.1"
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200") and b'"x-forwarded-proto": "https"' in reply
    context = ssl.create_default_context(cafile=str(ca))
    raw = socket.create_connection(("127.0.0.1", proxy_port), timeout=5)
    with ws_connect(f"wss://app.localhost:{proxy_port}/ws", sock=raw, ssl=context, open_timeout=5) as ws:
        ws.send("over tls")
        assert ws.recv(timeout=5) == "over tls"
    status, _, body = get(proxy_port, "app.localhost", "/")
    assert status == 200 and b"hello from the backend" in body, "plain http:// on the same port"


def test_pages_over_http2_list_https_urls(start_run, proxy_port: int, state_home: Path) -> None:
    https_app(start_run)
    url = f"https://nope.localhost:{proxy_port}/"
    mismatch = curl(proxy_port, url, name="nope", cacert=ca_file(state_home))
    assert mismatch.returncode == 60 and b"'nope.localhost'" in mismatch.stderr, "a name that does not route " \
        "shares the localhost certificate (tls/sni.py): no leaf is made for it"
    done = curl(proxy_port, "--http2", "--insecure", "-w", "%{http_code}", url, name="nope")
    assert done.stdout.endswith(b"404") and f"https://app.localhost:{proxy_port}/".encode() in done.stdout


def test_a_host_outside_localhost_is_refused_in_the_handshake(start_run, proxy_port: int, state_home: Path) -> None:
    https_app(start_run)
    tls_socket(proxy_port, "app.localhost", ca_file(state_home)).close()
    with pytest.raises(ssl.SSLError):
        tls_socket(proxy_port, "evil.example", ca_file(state_home))
    assert not (state_home / "tls" / "hosts" / "evil.example.pem").exists(), "no certificate minted for it"


def test_https_starts_working_once_the_ca_exists_without_a_restart(start_run, proxy_port: int,
                                                                   state_home: Path) -> None:
    start_run("app", sys.executable, BACKEND, "{port}")
    assert not ca_file(state_home).exists()
    with pytest.raises((ssl.SSLError, ConnectionError)):
        tls_socket(proxy_port, "app.localhost", Path(ssl.get_default_verify_paths().openssl_cafile))
    assert get(proxy_port, "app.localhost", "/")[0] == 200
    ensure_ca()
    done = curl(proxy_port, "--http2", "-w", "%{http_code}", f"https://app.localhost:{proxy_port}/",
                cacert=ca_file(state_home))
    assert done.stdout.endswith(b"200"), done.stderr


def test_ca_is_made_once_with_private_keys(state_home: Path) -> None:
    code = "from portside.router.tls.localca import ensure_ca; print(ensure_ca()[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    made = [proc.communicate(timeout=30)[0].strip() for proc in procs]
    assert sorted(made) == ["False", "False", "False", "True"], "four racing callers made one CA"
    ca = load_ca()
    assert ca is not None
    leaf = leaf_path("app.localhost", ca)
    tls = state_home / "tls"
    assert (tls.stat().st_mode & 0o777) == 0o700
    assert (tls / "ca-key.pem").stat().st_mode & 0o777 == 0o600 and leaf.stat().st_mode & 0o777 == 0o600
    made = leaf.stat().st_ino, leaf.read_bytes()
    assert leaf_path("app.localhost", ca) == leaf  # still good: kept, not made again
    assert (leaf.stat().st_ino, leaf.read_bytes()) == made


def test_openssl_accepts_leaves_and_the_name_constraint_refuses_other_names(state_home: Path,
                                                                            tmp_path: Path) -> None:
    ca_path, _ = ensure_ca()
    ca = load_ca()
    assert ca is not None
    leaf = leaf_path("api.app.localhost", ca)
    ok = subprocess.run(["openssl", "verify", "-CAfile", str(ca_path), "-verify_hostname", "api.app.localhost",
                         str(leaf)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    forged = make_leaf("bank.example", ca, datetime.datetime.now(datetime.UTC))
    (tmp_path / "forged.pem").write_bytes(forged.cert)
    refused = subprocess.run(["openssl", "verify", "-CAfile", str(ca_path), str(tmp_path / "forged.pem")],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "subtree" in (refused.stdout + refused.stderr)


@pytest.mark.root
def test_trust_adds_to_system_and_nss_stores_and_removes(start_run, proxy_port: int, state_home: Path,
                                                         tmp_path: Path) -> None:
    if shutil.which("update-ca-certificates") is None or shutil.which("certutil") is None:
        pytest.skip("needs update-ca-certificates and certutil (CI installs them)")
    app = https_app(start_run)
    certs, local, home = tmp_path / "certs", tmp_path / "local", tmp_path / "home"
    shutil.copytree("/etc/ssl/certs", certs, symlinks=True)
    shutil.copytree("/usr/local/share/ca-certificates", local, symlinks=True)
    home.mkdir()
    fetch = f"curl -sS --noproxy '*' --resolve app.localhost:{proxy_port}:127.0.0.1 -o /dev/null -w '%{{http_code}}' "
    script = f"""set -u
mount --bind {certs} /etc/ssl/certs && mount --bind {local} /usr/local/share/ca-certificates || exit 99
{fetch} {app.url}; echo " before=$?"
{sys.executable} -m portside trust; echo "trust=$?"
{fetch} {app.url}; echo " after=$?"
certutil -d sql:{home}/.pki/nssdb -L
{sys.executable} -m portside trust --remove; echo "remove=$?"
{fetch} {app.url}; echo " removed=$?"
ls /usr/local/share/ca-certificates
"""
    env = {**os.environ, "HOME": str(home)}
    done = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    out = done.stdout
    assert "before=60" in out, out + done.stderr
    assert "trust=0" in out and "system (update-ca-certificates): added" in out and "(NSS): added" in out
    assert "200 after=0" in out and "portside local CA" in out.split("after=0")[1], out
    assert "remove=0" in out and "removed=60" in out and "portside-local-ca" not in out.split("removed=")[1]
    assert not any(p.name.startswith("portside") for p in Path("/usr/local/share/ca-certificates").iterdir())


def test_http2_flow_control_a_stalled_stream_does_not_hold_up_another(start_run, proxy_port: int,
                                                                      state_home: Path) -> None:
    from h2.config import H2Configuration
    from h2.connection import H2Connection
    from h2.events import DataReceived, ResponseReceived, StreamEnded
    from h2.settings import SettingCodes

    https_app(start_run)
    sock = tls_socket(proxy_port, "app.localhost", ca_file(state_home), alpn=["h2"])
    assert sock.selected_alpn_protocol() == "h2"
    client = H2Connection(H2Configuration(client_side=True, header_encoding=None))
    client.initiate_connection()
    client.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: 4096})
    size = 200_000
    for stream_id in (1, 3):
        client.send_headers(stream_id, [(b":method", b"GET"), (b":path", f"/bytes/{size}".encode()),
                                        (b":scheme", b"https"), (b":authority", b"app.localhost")], end_stream=True)
    sock.sendall(client.data_to_send())
    received = {1: b"", 3: b""}
    status: dict[int, bytes] = {}
    ended: set[int] = set()
    stalled_ack = 0
    while ended != {1, 3}:
        data = sock.recv(65536)
        assert data, "the proxy closed the connection"
        for event in client.receive_data(data):
            if isinstance(event, ResponseReceived):
                status[event.stream_id] = dict(event.headers)[b":status"]
            elif isinstance(event, DataReceived):
                received[event.stream_id] += event.data
                if event.stream_id == 3 or 3 in ended:
                    client.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                else:
                    stalled_ack += event.flow_controlled_length
            elif isinstance(event, StreamEnded):
                ended.add(event.stream_id)
                if event.stream_id == 3:
                    assert len(received[1]) <= 4096, "stream 1 went past the window it was given"
                    client.acknowledge_received_data(stalled_ack, 1)
        sock.sendall(client.data_to_send())
    sock.close()
    expected = (PATTERN * (size // 256 + 1))[:size]
    assert status == {1: b"200", 3: b"200"} and received[1] == expected and received[3] == expected
