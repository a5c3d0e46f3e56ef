"""`portside run`, `alias`, `routes` and the .localhost proxy, end to end with real processes and sockets."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from support import BACKEND, backend, get, unleased_port
from websockets.sync.client import connect as ws_connect

from portside.inventory._procfs import process_state
from portside.leasing.allocate import bindable
from portside.router.registry import routes


def route_port(name: str) -> int:
    (route,) = [r for r in routes() if r.name == name]
    return route.port


def test_run_prints_the_url_and_the_proxy_serves_the_page(start_run, proxy_port: int) -> None:
    app = backend(start_run)
    assert app.url == f"http://app.localhost:{proxy_port}/"
    status, headers, body = get(proxy_port, f"app.localhost:{proxy_port}")
    assert status == 200 and b"hello from the backend" in body and headers["content-type"] == "text/html"
    port = route_port("app")
    assert not bindable(port), "the backend listens on the leased port"


def test_forwarded_headers_and_bodies_both_ways(start_run, proxy_port: int) -> None:
    backend(start_run)
    payload = os.urandom(300_000)
    status, _, body = get(proxy_port, "app.localhost", "/echo", method="POST", body=payload,
                          headers={"X-Forwarded-For": "6.6.6.6"})
    seen = json.loads(body)
    assert status == 200 and seen["body_length"] == len(payload)
    assert seen["body_sha256"] == hashlib.sha256(payload).hexdigest()
    assert seen["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert seen["headers"]["x-forwarded-proto"] == "http" and seen["headers"]["x-forwarded-host"] == "app.localhost"
    chunks = iter([b"abc", b"defg", b""])
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
    conn.request("POST", "/echo", body=chunks, headers={"Host": "app.localhost", "Transfer-Encoding": "chunked"},
                 encode_chunked=True)
    seen = json.loads(conn.getresponse().read())
    assert seen["body_length"] == 7 and seen["headers"]["transfer-encoding"] == "chunked"


def test_keep_alive_chunked_and_head(start_run, proxy_port: int) -> None:
    backend(start_run)
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
    peers = set()
    for path in ("/chunked", "/echo", "/chunked"):
        conn.request("GET", path, headers={"Host": "app.localhost"})
        response = conn.getresponse()
        data = response.read()
        peers.add(conn.sock.getsockname())
        assert response.status == 200
        if path == "/chunked":
            assert data == b"".join(f"piece {i}\n".encode() for i in range(5))
    assert len(peers) == 1, "one client connection carried every request"
    conn.request("HEAD", "/", headers={"Host": "app.localhost"})
    response = conn.getresponse()
    assert response.status == 200 and response.read() == b"" and int(response.getheader("Content-Length")) > 0
    conn.request("GET", "/echo", headers={"Host": "app.localhost"})
    assert conn.getresponse().status == 200


def test_server_sent_events_arrive_as_they_are_sent(start_run, proxy_port: int) -> None:
    backend(start_run)
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=5) as sock:
        sock.sendall(b"GET /sse HTTP/1.1\r\nHost: app.localhost\r\nAccept: text/event-stream\r\n\r\n")
        began = time.monotonic()
        received = b""
        while b"event 0" not in received:
            received += sock.recv(4096)
        first = time.monotonic() - began
        while b"0\r\n\r\n" not in received:
            received += sock.recv(4096)
    assert first < 0.3, f"the first event took {first:.2f} s: the response was buffered"
    assert all(f"data: event {i}".encode() in received for i in range(3))


def test_websocket_echo_through_the_proxy(start_run, proxy_port: int) -> None:
    backend(start_run)
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=5)
    with ws_connect(f"ws://app.localhost:{proxy_port}/ws", sock=sock, open_timeout=5) as ws:
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
        blob = os.urandom(100_000)
        ws.send(blob)
        assert ws.recv(timeout=5) == blob


def test_subdomain_routes_to_its_own_name_or_the_parent(start_run, proxy_port: int) -> None:
    backend(start_run, "shop")
    status, _, body = get(proxy_port, "api.shop.localhost", "/echo")
    assert status == 200 and json.loads(body)["headers"]["x-forwarded-host"] == "api.shop.localhost"
    backend(start_run, "api.shop")
    assert route_port("api.shop") != route_port("shop")
    assert get(proxy_port, "api.shop.localhost", "/echo")[0] == 200


@pytest.mark.parametrize(("host", "path", "status"), [
    ("evil.example", "/", 421),
    ("app.localhost.evil.example", "/", 421),
    ("nope.localhost", "/", 404),
    ("localhost", "/", 404),
    ("app.localhost", "http://example.com/", 400),
])
def test_refusals(start_run, proxy_port: int, host: str, path: str, status: int) -> None:
    backend(start_run)
    got, headers, body = get(proxy_port, host, path, headers={"Accept": "text/html"})
    assert got == status and headers["content-type"].startswith("text/html")
    listed = b"http://app.localhost" in body
    assert listed == (status == 404), "only the 404 page lists the live routes"


def test_ctrl_c_stops_the_command_and_removes_route_and_lease(start_run, proxy_port: int) -> None:
    app = backend(start_run)
    port = route_port("app")
    app.proc.send_signal(signal.SIGINT)
    assert app.proc.wait(10) == 128 + signal.SIGINT
    assert [r.name for r in routes()] == [] and bindable(port)
    out = subprocess.run([sys.executable, "-m", "portside", "leases", "--json"], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout)["leases"] == []
    assert get(proxy_port, "app.localhost")[0] == 404


def gone_or_zombie(pid: int) -> bool:
    return process_state(pid) in (None, "Z")


@pytest.mark.parametrize("wrapped", [False, True], ids=["direct", "behind-sh"])
def test_kill_9_of_run_prunes_the_route_and_stops_the_command(start_run, proxy_port: int, wrapped: bool) -> None:
    if wrapped:  # like npx: a wrapper that dies of SIGTERM without passing it on to the server it started
        app = start_run("app", "sh", "-c", f"{sys.executable} {BACKEND} $PORT; echo never")
    else:
        app = backend(start_run)
    port = route_port("app")
    server_pids = [int(pid) for pid in subprocess.run(["pgrep", "-f", f"^{sys.executable} {BACKEND} {port}$"],
                                                      capture_output=True, text=True, check=False).stdout.split()]
    assert len(server_pids) == 1
    os.kill(app.proc.pid, signal.SIGKILL)
    app.proc.wait(10)
    deadline = time.monotonic() + 8
    while not bindable(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bindable(port), "the command and all it started died with their portside run"
    assert gone_or_zombie(server_pids[0])
    assert get(proxy_port, "app.localhost")[0] == 404
    assert routes() == []


def test_command_exit_status_is_passed_on(start_run, proxy_port: int) -> None:
    app = start_run("quick", sys.executable, "-c",
                    "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); "
                    "time.sleep(0.5); sys.exit(3)", "{port}")
    assert app.proc.wait(10) == 3
    assert routes() == []


def test_second_run_of_a_live_name_refuses_unless_replace(start_run, proxy_port: int) -> None:
    first = backend(start_run)
    second = subprocess.run([sys.executable, "-m", "portside", "run", "app", "--", sys.executable, BACKEND, "{port}"],
                            capture_output=True, text=True, timeout=30, check=False)
    assert second.returncode == 1 and f"pid {first.proc.pid}" in second.stderr and second.stderr.count("\n") == 1
    third = backend(start_run, extra=("--replace",))
    assert third.url == first.url and route_port("app") != 0
    assert get(proxy_port, "app.localhost", "/echo")[0] == 200


def test_alias_routes_to_a_port_served_elsewhere(start_run, proxy_port: int, cli) -> None:
    port = unleased_port()
    server = subprocess.Popen([sys.executable, BACKEND, str(port)], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while bindable(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        result = cli("alias", "db-admin", str(port), "--json")
        assert result.status == 0 and result.json()["url"] == f"http://db-admin.localhost:{proxy_port}/"
        assert get(proxy_port, "db-admin.localhost", "/echo")[0] == 200
        listed = cli("routes", "--json").json()
        assert [(r["name"], r["kind"], r["port"]) for r in listed["routes"]] == [("db-admin", "alias", port)]
        assert listed["proxy"]["running"] is True
        assert cli("alias", "db-admin", "--remove").status == 0
        assert get(proxy_port, "db-admin.localhost")[0] == 404
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
    assert get(proxy_port, "gone.localhost")[0] == 404


def test_dead_backend_is_a_502_page_listing_routes(proxy_port: int, cli) -> None:
    port = unleased_port()
    assert cli("alias", "ghost", str(port)).status == 0
    status, headers, body = get(proxy_port, "ghost.localhost")
    assert status == 502 and b"does not answer on port" in body and headers["content-type"].startswith("text/plain")


def test_proxy_listens_on_loopback_only(proxy_port: int, cli) -> None:
    started = cli("proxy", "start", "--json").json()
    assert started["hosts"] == ["127.0.0.1", "::1"] and started["port"] == proxy_port
    listeners = cli("ls", "--port", str(proxy_port), "--json").json()["listeners"]
    assert sorted(item["address"] for item in listeners) == ["127.0.0.1", "::1"]
    assert {item["exposure"] for item in listeners} == {"loopback"}
    assert cli("proxy", "status", "--json").json()["running"] is True
    assert cli("proxy", "stop", "--json").json()["state"] == "stopped"
    assert cli("proxy", "status", "--json").json()["running"] is False
