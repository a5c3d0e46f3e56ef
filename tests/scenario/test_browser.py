"""`portside run` and the .localhost proxy seen by a real browser: headless Chromium (browser.py), real servers.

The page, a WebSocket opened by the page's JavaScript, and a Vite dev server whose hot module
replacement (its WebSocket to the page's own host:port) must carry an edit into the open page.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from browser import require
from playwright.sync_api import BrowserContext, expect
from playwright.sync_api import Error as PlaywrightError
from support import Running, backend

from portside.router.registry import routes

StartRun = Callable[..., Running]
ECHO = """async ([url, text, size]) => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    const timeout = (what) => new Promise((_, reject) => setTimeout(() => reject(new Error(what)), 10000));
    const next = () => new Promise((resolve, reject) => {
        ws.onmessage = (event) => resolve(event.data);
        ws.onclose = (event) => reject(new Error(`closed ${event.code} before an echo`));
    });
    await Promise.race([new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error("the WebSocket failed to open"));
    }), timeout("no open within 10 s")]);
    ws.send(text);
    const echoed = await Promise.race([next(), timeout("no text echo within 10 s")]);
    const blob = new Uint8Array(size).map((_, i) => (i * 7) % 251);
    ws.send(blob);
    const back = new Uint8Array(await Promise.race([next(), timeout("no binary echo within 10 s")]));
    ws.close();
    return {echoed, same: back.length === blob.length && back.every((b, i) => b === blob[i])};
}"""


def test_browser_opens_the_url_run_prints(start_run: StartRun, proxy_port: int, browser: BrowserContext) -> None:
    app = backend(start_run)
    url = f"http://app.localhost:{proxy_port}/"
    assert app.url == url
    page = browser.new_page()
    response = page.goto(url)
    assert response is not None and response.status == 200
    assert response.server_addr() in ({"ipAddress": "127.0.0.1", "port": proxy_port},
                                      {"ipAddress": "[::1]", "port": proxy_port}), "the proxy answered, on loopback"
    expect(page.locator("#hello")).to_have_text("hello from the backend")
    assert page.url == url


def test_page_websocket_echo_through_the_proxy(start_run: StartRun, proxy_port: int, browser: BrowserContext) -> None:
    backend(start_run)
    page = browser.new_page()
    page.goto(f"http://app.localhost:{proxy_port}/")
    opened: list[str] = []
    page.on("websocket", lambda ws: opened.append(ws.url))
    result = page.evaluate(ECHO, [f"ws://app.localhost:{proxy_port}/ws", "hello through the proxy", 100_000])
    assert result == {"echoed": "hello through the proxy", "same": True}
    assert opened == [f"ws://app.localhost:{proxy_port}/ws"]


def trust_with_home(home: Path, scratch: Path) -> str:
    """`portside trust` with HOME=`home` (its NSS db is what Chromium reads), in a mount namespace over copies of
    the system store, so the machine's own trust store is never changed."""
    require(os.geteuid() == 0 and shutil.which("unshare") is not None, "needs root for a mount namespace")
    require(shutil.which("certutil") is not None, "certutil is missing (apt-get install libnss3-tools)")
    certs, local = scratch / "certs", scratch / "local-cas"
    shutil.copytree("/etc/ssl/certs", certs, symlinks=True)
    shutil.copytree("/usr/local/share/ca-certificates", local, symlinks=True)
    script = (f"mount --bind {certs} /etc/ssl/certs && mount --bind {local} /usr/local/share/ca-certificates && "
              f"{sys.executable} -m portside trust")
    done = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(home)}, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.root
def test_https_page_over_http2_once_the_ca_is_trusted(start_run: StartRun, proxy_port: int, tmp_path: Path,
                                                      launch_browser: Callable[..., BrowserContext]) -> None:
    app = backend(start_run, extra=("--https",))
    assert app.url == f"https://app.localhost:{proxy_port}/"
    with pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"):
        launch_browser().new_page().goto(app.url)
    home = tmp_path / "trusting-home"
    home.mkdir()
    assert "Chromium/Chrome (NSS): added" in trust_with_home(home, tmp_path)
    page = launch_browser(home=home).new_page()
    response = page.goto(app.url)
    assert response is not None and response.status == 200
    expect(page.locator("#hello")).to_have_text("hello from the backend")
    assert page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol") == "h2"
    security = response.security_details()
    assert security is not None and security.get("subjectName") == "app.localhost"
    result = page.evaluate(ECHO, [f"wss://app.localhost:{proxy_port}/ws", "hello over tls", 100_000])
    assert result == {"echoed": "hello over tls", "same": True}


def _service_tree(run: Running) -> list[psutil.Process]:
    """The command `run` started and everything under it, from the pid run reports on stderr."""
    assert run.proc.stderr is not None
    while line := run.proc.stderr.readline():
        if found := re.search(r"\(pid (\d+)\)", line):
            service = psutil.Process(int(found.group(1)))
            return [service, *service.children(recursive=True)]
    raise AssertionError("run did not report its command's pid")


def _stop(run: Running, tree: list[psutil.Process]) -> tuple[int | None, list[psutil.Process]]:
    """Ctrl-C for run; its exit status and whatever of the command's tree outlived it (killed here, then)."""
    status = None
    if run.proc.poll() is None:
        run.proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            status = run.proc.wait(20)
    _, alive = psutil.wait_procs(tree, timeout=5)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    return status, alive


def test_vite_live_reload_through_the_proxy(start_run: StartRun, proxy_port: int, browser: BrowserContext,
                                            vite_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    web = tmp_path / "web"
    shutil.copytree(vite_project, web, symlinks=True, ignore=shutil.ignore_patterns(".vite"))
    monkeypatch.setenv("npm_config_update_notifier", "false")
    app = start_run("web", "npx", "vite", cwd=web, extra=("--timeout", "60s"))
    tree = _service_tree(app)
    try:
        url = f"http://web.localhost:{proxy_port}/"
        assert app.url == url
        (route,) = [r for r in routes() if r.name == "web"]
        assert any(f"--port {route.port} --strictPort --host 127.0.0.1" in " ".join(p.cmdline()) for p in tree)

        page = browser.new_page()
        sockets: list[str] = []
        console: list[str] = []
        navigations: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.on("console", lambda message: console.append(message.text))
        page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
        with page.expect_console_message(lambda message: "[vite] connected" in message.text, timeout=15_000):
            page.goto(url)
        expect(page.locator("#marker")).to_have_text("marker one")
        page.evaluate("window.__marker = 1")

        main = web / "main.js"
        main.write_text(main.read_text().replace('"marker one"', '"marker two"'))
        expect(page.locator("#marker")).to_have_text("marker two", timeout=10_000)
        assert page.evaluate("window.__marker") == 1, "the page was reloaded, not hot-updated"
        assert navigations == [url], f"one navigation only; console: {console}"
        assert any("token=" in u for u in sockets) and all(u.startswith(f"ws://web.localhost:{proxy_port}/")
                                                           for u in sockets), (
            f"Vite's HMR socket goes through the proxy, not straight to port {route.port}: {sockets}")
    finally:
        status, outlived = _stop(app, tree)
    assert status == 128 + signal.SIGINT
    assert outlived == [], "Ctrl-C of run stopped vite and all it started"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", route.port), timeout=5).close()
