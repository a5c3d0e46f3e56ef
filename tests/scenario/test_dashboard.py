"""The dashboard at portside.localhost, served by the real proxy: every refusal over real HTTP, the actions on the
test's own processes, the live stream; and headless Chromium (browser.py) for the page itself.

The proxy is the one `portside dashboard --json` starts (on this test's proxy port, state under this test's
PORTSIDE_HOME). Plain-HTTP requests go to 127.0.0.1 with the Host header set, as a browser would send it.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, expect
from support import BACKEND, Held, Namespace, Running, needs

from portside.leasing.allocate import leases, pick
from portside.router.registry import routes
from portside.web.app import ROUTES
from portside.web.auth import cookie_name

Answer = tuple[int, dict[str, str], bytes]
ARTEFACTS = os.environ.get("PORTSIDE_ARTEFACTS")


class Dash(NamedTuple):
    url: str
    token: str
    port: int

    @property
    def host(self) -> str:
        return f"portside.localhost:{self.port}"

    @property
    def origin(self) -> str:
        return f"http://{self.host}"

    @property
    def cookie(self) -> str:
        return f"{cookie_name(self.port)}={self.token}"


def ask(port: int, host: str, path: str = "/", *, method: str = "GET", body: bytes | None = None,
        headers: dict[str, str] | None = None, address: str = "127.0.0.1") -> Answer:
    conn = http.client.HTTPConnection(address, port, timeout=20)
    conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def act(dash: Dash, action: str, payload: dict[str, object], **headers: str) -> Answer:
    sent = {"Cookie": dash.cookie, "Origin": dash.origin, "Content-Type": "application/json",
            "X-Portside-Action": action, **headers}
    return ask(dash.port, dash.host, f"/api/{action}", method="POST", body=json.dumps(payload).encode(),
               headers={key: value for key, value in sent.items() if value})


@pytest.fixture
def dash(proxy_port: int) -> Dash:
    out = subprocess.run([sys.executable, "-m", "portside", "dashboard", "--json"], capture_output=True, text=True,
                         timeout=60, check=True)
    url = json.loads(out.stdout)["url"]
    (token,) = parse_qs(urlsplit(url).query)["token"]
    return Dash(url, token, proxy_port)


def test_the_url_hands_the_token_over_once_as_a_strict_cookie(dash: Dash) -> None:
    split = urlsplit(dash.url)
    assert (split.scheme, split.netloc, split.path) == ("http", dash.host, "/auth")
    token_file = Path(os.environ["PORTSIDE_HOME"]) / "dashboard.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600 and token_file.read_text().strip() == dash.token
    status, headers, _ = ask(dash.port, dash.host, f"{split.path}?{split.query}")
    assert status == 303 and headers["location"] == "/"
    assert headers["set-cookie"] == f"{dash.cookie}; SameSite=Strict; HttpOnly; Path=/"
    status, headers, body = ask(dash.port, dash.host, "/", headers={"Cookie": dash.cookie})
    assert status == 200 and headers["content-type"].startswith("text/html") and b"<h1>portside</h1>" in body
    assert "frame-ancestors 'none'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in headers
    again = subprocess.run([sys.executable, "-m", "portside", "dashboard", "--json"], capture_output=True, text=True,
                           timeout=60, check=True)
    assert json.loads(again.stdout)["url"] == dash.url, "one token per user, kept"


@pytest.mark.parametrize("credentials", ["none", "wrong", "other port's cookie", "token in the query"])
def test_no_endpoint_answers_without_the_token(dash: Dash, credentials: str) -> None:
    wrong = "0" * len(dash.token)
    headers = {"none": {}, "wrong": {"Cookie": f"{cookie_name(dash.port)}={wrong}"},
               "other port's cookie": {"Cookie": f"{cookie_name(dash.port + 1)}={dash.token}"},
               "token in the query": {}}[credentials]
    query = f"?token={dash.token}" if credentials == "token in the query" else ""
    for path, route in [*ROUTES.items(), ("/no-such-page", ROUTES["/"])]:
        if path == "/auth" and credentials == "token in the query":
            continue  # the one URL that takes it there
        for method in route.methods:
            extra = {"Origin": dash.origin, "X-Portside-Action": "x", "Content-Type": "application/json"}
            status, _, body = ask(dash.port, dash.host, path + (query if path != "/auth" else f"?token={wrong}"),
                                  method=method, body=b'{"port": 1}' if method == "POST" else None,
                                  headers={**headers, **(extra if method == "POST" else {})})
            assert status == 403, (path, method, status, body)
            assert method == "HEAD" and body == b"" or json.loads(body) == {"error": "no valid dashboard token: open the dashboard with "
                                                 "`portside dashboard`"}, (path, body)


@pytest.mark.parametrize("host", [
    "portside.localhost", "portside.localhost:{other}", "PORTSIDE.localhost.:{port}", "api.portside.localhost:{port}",
    "127.0.0.1:{port}", "[::1]:{port}", "localhost:{port}", "portside.localhost.evil.example:{port}",
    "evil.example:{port}", "portside.localhost@evil.example:{port}", "portside.localhost:{port}, evil.example",
])
def test_another_host_gets_the_proxys_own_handling_not_the_dashboard(dash: Dash, host: str) -> None:
    """DNS rebinding: a page's own name pointed at 127.0.0.1 sends its own Host; only the exact one is the dashboard."""
    named = host.format(port=dash.port, other=dash.port + 1)
    status, _, body = ask(dash.port, named, "/api/state", headers={"Cookie": dash.cookie})
    assert status in (400, 404, 421), (named, status)
    assert b"listeners" not in body and b"no valid dashboard token" not in body


def test_several_host_headers_are_refused(dash: Dash) -> None:
    with socket.create_connection(("127.0.0.1", dash.port), timeout=10) as conn:
        conn.sendall(f"GET /api/state HTTP/1.1\r\nHost: {dash.host}\r\nHost: {dash.host}\r\nCookie: {dash.cookie}\r\n"
                     "Connection: close\r\n\r\n".encode())
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 400") and b"listeners" not in reply


@pytest.fixture
def lease(dash: Dash) -> int:
    """A lease of this test's own, for the actions to try to release."""
    (taken,) = pick(names=["victim"])
    return taken.port


def leased(port: int) -> bool:
    return any(state.lease.port == port for state in leases())


@pytest.mark.parametrize(("why", "headers"), [
    ("cross origin", {"Origin": "http://evil.localhost:{port}"}),
    ("another scheme", {"Origin": "https://portside.localhost:{port}"}),
    ("an IP origin", {"Origin": "http://127.0.0.1:{port}"}),
    ("null origin", {"Origin": "null"}),
    ("no origin", {"Origin": ""}),
    ("simple form post", {"Content-Type": "application/x-www-form-urlencoded", "X-Portside-Action": ""}),
    ("simple text post", {"Content-Type": "text/plain", "X-Portside-Action": ""}),
    ("no cookie", {"Cookie": ""}),
])
def test_an_action_is_refused_and_nothing_happens(dash: Dash, lease: int, why: str, headers: dict[str, str]) -> None:
    sent = {key: value.format(port=dash.port) for key, value in headers.items()}
    status, _, body = act(dash, "release", {"port": lease}, **sent)
    assert status == 403, (why, body)
    assert leased(lease), why


def test_an_action_by_get_is_refused(dash: Dash, lease: int) -> None:
    status, _, _ = ask(dash.port, dash.host, "/api/release", headers={"Cookie": dash.cookie, "Origin": dash.origin,
                                                                      "X-Portside-Action": "release"})
    assert status == 405 and leased(lease)


def test_release_a_lease(dash: Dash, lease: int) -> None:
    status, _, body = act(dash, "release", {"port": lease})
    assert status == 200 and json.loads(body)["message"] == f"released the lease on port {lease}"
    assert not leased(lease)
    status, _, body = act(dash, "release", {"port": lease})
    assert status == 409 and "no lease on port" in json.loads(body)["error"]


@pytest.mark.parametrize("payload", [{}, {"port": "80"}, {"port": True}, {"port": 0}, {"port": 70000}, []])
def test_bad_action_bodies_are_400(dash: Dash, payload: object) -> None:
    status, _, _ = act(dash, "release", payload)  # type: ignore[arg-type]
    assert status == 400


def test_kill_frees_the_tests_own_port_with_kills_rules(dash: Dash, hold: Callable[..., Held]) -> None:
    held = hold("tcp:127.0.0.1:0")
    status, _, body = act(dash, "kill", {"port": held.port})
    assert status == 200, body
    message = json.loads(body)["message"]
    assert message.startswith(f"port {held.port} is free: sent SIGTERM to pid {held.pid} "), message
    assert held.proc.wait(10) is not None
    status, _, body = act(dash, "kill", {"port": dash.port})  # the proxy itself: kill refuses it
    assert status == 409 and "refusing to signal" in json.loads(body)["error"]


def test_remove_an_alias_but_not_a_run(dash: Dash, start_run: Callable[..., Running]) -> None:
    subprocess.run([sys.executable, "-m", "portside", "alias", "db", "5999"], check=True, capture_output=True)
    start_run("app", sys.executable, BACKEND, "{port}")
    status, _, body = act(dash, "unalias", {"name": "app"})
    assert status == 409 and json.loads(body)["error"] == "no alias named app"
    status, _, _ = act(dash, "unalias", {"name": "db"})
    assert status == 200 and [route.name for route in routes()] == ["app"]


def test_a_run_services_output_and_the_stop_action(dash: Dash, start_run: Callable[..., Running]) -> None:
    app = start_run("app", sys.executable, "-c", "import sys, runpy; print('line <one>', flush=True); "
                    "print('to stderr', file=sys.stderr, flush=True); sys.argv = sys.argv[1:]; "
                    "runpy.run_path(sys.argv[0], run_name='__main__')", BACKEND, "{port}")
    deadline = time.monotonic() + 10
    services = ""
    shown = '<span class="stderr">to stderr</span>'  # the line, not the command column that also quotes it
    while time.monotonic() < deadline and shown not in services:
        _, _, body = ask(dash.port, dash.host, "/api/state", headers={"Cookie": dash.cookie})
        services = json.loads(body)["services"]
        time.sleep(0.2)
    assert "line &lt;one&gt;" in services and shown in services
    status, _, body = act(dash, "stop", {"name": "app"})
    assert status == 200 and json.loads(body)["message"].startswith("stopped app"), body
    assert app.proc.wait(10) is not None and routes() == []
    assert list((Path(os.environ["PORTSIDE_HOME"]) / "runs").iterdir()) == [], "the output file goes with the run"


def read_event(stream: http.client.HTTPResponse) -> dict[str, str]:
    """One SSE `update` message's data (the chunked framing is undone by http.client)."""
    lines = []
    while (line := stream.readline()) not in (b"\n", b""):
        lines.append(line.decode().rstrip("\n"))
    data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    return json.loads(data[0]) if data else {}


def test_the_event_stream_shows_a_new_listener_within_two_seconds(dash: Dash) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", dash.port, timeout=20)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        conn.request("GET", f"/events?q={port}", headers={"Host": dash.host, "Cookie": dash.cookie})
        stream = conn.getresponse()
        assert stream.status == 200 and stream.getheader("content-type") == "text/event-stream"
        first = read_event(stream)
        assert set(first) == {"listeners", "services", "routes", "leases", "events"}
        assert "no listeners" in first["listeners"]
        probe.listen()
        opened = time.monotonic()
        while "no listeners" in (update := read_event(stream)).get("listeners", "no listeners"):
            assert time.monotonic() - opened < 2.0
        assert f'data-port="{port}"' in update["listeners"] and time.monotonic() - opened < 2.0
    conn.close()


@pytest.mark.parametrize("where", ["from another machine", "from loopback"])
def test_a_lan_proxy_refuses_the_dashboard_to_non_loopback_peers(netns: Namespace, tmp_path: Path,
                                                                 where: str) -> None:
    """`proxy serve --lan` in a namespace of the test's own; a client in the peer namespace (198.51.100.8) is refused
    even with the token, a client on the namespace's loopback is served."""
    needs("ip")
    peer = f"{netns.name}-peer"
    for command in (["addr", "add", "198.51.100.8/24", "dev", "v1"], ["link", "set", "v1", "up"],
                    ["link", "set", "lo", "up"]):
        subprocess.run(["ip", "-n", peer, *command], check=True)
    port = 7355
    env = {**os.environ, "PORTSIDE_HOME": str(tmp_path / "home"), "PORTSIDE_PROXY_PORT": str(port)}
    proxy = subprocess.Popen([*netns.prefix(), sys.executable, "-m", "portside", "proxy", "serve", "--lan",
                              "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        token = subprocess.run([*netns.prefix(), sys.executable, "-c",
                                "from portside.web.token import dashboard_token; print(dashboard_token())"],
                               env=env, capture_output=True, text=True, check=True).stdout.strip()
        client = f"""
import http.client, sys, time
for attempt in range(100):
    try:
        conn = http.client.HTTPConnection(sys.argv[1], {port}, timeout=10)
        conn.request("GET", "/api/state", headers={{"Host": "portside.localhost:{port}",
                                                     "Cookie": "{cookie_name(port)}={token}"}})
        break
    except OSError:
        time.sleep(0.1)
response = conn.getresponse()
print(response.status, response.read().decode())
"""
        namespace, address = (peer, netns.address) if where == "from another machine" else (netns.name, "127.0.0.1")
        out = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", client, address], env=env,
                             capture_output=True, text=True, timeout=60, check=True).stdout
        if where == "from another machine":
            assert out.startswith("403 ") and "only on loopback" in out, out
        else:
            assert out.startswith("200 ") and "listeners" in out, out
    finally:
        proxy.terminate()
        proxy.wait(10)


# --- headless Chromium -------------------------------------------------------------------------------------------


def logged_in(browser: BrowserContext, dash: Dash, path: str = "/"):  # type: ignore[no-untyped-def]
    """A page of the dashboard, opened through the hand-over URL (the cookie set, the token gone from the URL)."""
    page = browser.new_page()
    response = page.goto(dash.url)
    assert response is not None and response.status == 200
    assert page.url == f"{dash.origin}/"
    if path != "/":
        page.goto(f"{dash.origin}{path}")
    return page


def test_browser_sees_a_new_listener_within_two_seconds_without_reload(dash: Dash, browser: BrowserContext) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        page = logged_in(browser, dash, f"/?q={port}")
        expect(page.locator("#status")).to_contain_text("live")
        loads: list[str] = []
        page.on("load", lambda _: loads.append("load"))
        probe.listen()
        expect(page.locator(f'#listeners tr[data-port="{port}"]')).to_be_visible(timeout=2000)
        assert loads == [], "no reload"


def test_browser_stop_button_stops_a_run_service(dash: Dash, browser: BrowserContext,
                                                 start_run: Callable[..., Running]) -> None:
    app = start_run("app", sys.executable, BACKEND, "{port}")
    page = logged_in(browser, dash)
    button = page.locator('#services button[data-action="stop"][data-name="app"]')
    expect(button).to_be_visible()
    button.click()
    expect(page.locator("#message")).to_contain_text("stopped app", timeout=20_000)
    assert app.proc.wait(10) is not None and routes() == []
    expect(page.locator("#s-app")).to_have_count(0, timeout=5000)


class Evil(http.server.BaseHTTPRequestHandler):
    """A page on another origin that tries to act on the dashboard, with a fetch and with a plain form post."""

    target = ""
    port = 0

    def do_GET(self) -> None:
        page = f"""<!doctype html><html><body>
<form id="f" method="post" action="{self.target}/api/release" enctype="text/plain">
<input name='{{"port":{self.port},"x' value='":1}}'></form>
<script>
fetch("{self.target}/api/release", {{method: "POST", credentials: "include", mode: "no-cors",
  headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{port: {self.port}}})}})
  .then(() => document.title = "sent", () => document.title = "sent");
fetch("{self.target}/api/release", {{method: "POST", credentials: "include",
  headers: {{"Content-Type": "application/json", "X-Portside-Action": "release"}},
  body: JSON.stringify({{port: {self.port}}})}})
  .then((r) => document.title = "answered " + r.status, (e) => document.title = "refused");
</script></body></html>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def evil_site(dash: Dash, lease: int) -> Iterator[str]:
    handler = type("EvilHere", (Evil,), {"target": dash.origin, "port": lease})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # *.localhost is the only name the test browser resolves (browser.py); Chromium counts each NAME.localhost a site
    # of its own, so the Strict cookie stays home (the Origin check stands behind it: the plain-HTTP tests)
    yield f"http://evil.localhost:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_browser_page_on_another_origin_cannot_act(dash: Dash, browser: BrowserContext, lease: int,
                                                   evil_site: str) -> None:
    logged_in(browser, dash).close()  # the browser holds the dashboard's cookie
    page = browser.new_page()
    refused: list[int] = []
    page.on("response", lambda response: refused.append(response.status)
            if response.url.startswith(dash.origin) else None)
    page.goto(evil_site)
    expect(page).to_have_title("refused", timeout=10_000)  # the preflight of the JSON fetch is refused
    page.evaluate("document.getElementById('f').submit()")  # a simple cross-site POST, navigating there
    page.wait_for_url(f"{dash.origin}/api/release")
    assert "no valid dashboard token" in page.content(), "the Strict cookie is not sent from another site"
    assert refused and all(status == 403 for status in refused), refused
    assert leased(lease), "nothing happened"


def test_browser_screenshot_of_the_main_view(dash: Dash, browser: BrowserContext, tmp_path: Path,
                                             start_run: Callable[..., Running]) -> None:
    start_run("app", sys.executable, BACKEND, "{port}")
    page = logged_in(browser, dash)
    page.set_viewport_size({"width": 1400, "height": 1000})
    expect(page.locator("#status")).to_contain_text("live")
    expect(page.locator("#s-app")).to_be_visible()
    where = Path(ARTEFACTS) if ARTEFACTS else tmp_path
    where.mkdir(parents=True, exist_ok=True)
    shot = where / "dashboard.png"
    page.screenshot(path=str(shot), full_page=False)
    print(f"dashboard screenshot: {shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
