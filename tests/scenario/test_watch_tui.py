"""The Textual app of `portside watch`, driven headless (`App.run_test` and its pilot) at 80x24 against real
listeners: what the test opens appears, its close lands in the event log, the filter, `who` and `doctor`
pages, the kill key on the test's own victim, opening an HTTP listener (the browser is the test's recorder:
nothing is ever launched), and a screenshot of the main view kept as an artefact."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console
from support import HERE, stop_holder
from textual.pilot import Pilot
from textual.widgets import DataTable, RichLog

from portside.monitor.watcher import Tick
from portside.tui.app import WatchApp
from portside.tui.dialogs import Confirm, Page

Test = Callable[[WatchApp, Pilot[int]], Awaitable[None]]


def drive(app: WatchApp, test: Test) -> None:
    async def main() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.samples > 0)
            await test(app, pilot)

    asyncio.run(main())


async def until(pilot: Pilot[int], test: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        if time.monotonic() > deadline:
            raise AssertionError("the app did not get there in time")
        await pilot.pause(0.05)


def screen_text(app: WatchApp) -> str:
    """The screen as plain text, as a terminal of the app's size shows it."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, color_system=None,
                      record=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def ports(app: WatchApp) -> list[int]:
    return [app.rows[key].listener.port for key in app.order]


def table_matches(app: WatchApp) -> bool:
    """Whether the table on screen lists the rows in the app's order (it is sorted in place)."""
    table = app.query_one(DataTable)
    shown = [str(table.get_row_at(index)[0]) for index in range(table.row_count)]
    return shown == [app.rows[key].cells[0] for key in app.order]


def log_text(app: WatchApp) -> str:
    return "\n".join(line.text for line in app.query_one(RichLog).lines)


async def only(app: WatchApp, pilot: Pilot[int], port: int) -> None:
    """Filter the table down to `port` by typing it, and leave the cursor on it."""
    await pilot.press("slash", *str(port), "enter")
    await until(pilot, lambda: ports(app) == [port])


def test_a_listener_appears_and_its_close_lands_in_the_log(hold, tmp_path: Path) -> None:
    async def test(app: WatchApp, pilot: Pilot[int]) -> None:
        held = hold("tcp:127.0.0.1:0")
        await until(pilot, lambda: held.port in ports(app))
        # read at once: the log keeps 1,000 lines, and a busy machine's own events can push this one out
        await until(pilot, lambda: f"opened tcp 127.0.0.1:{held.port}" in log_text(app))
        await only(app, pilot, held.port)  # on a busy machine its row may be below the fold
        text = screen_text(app)
        (row,) = [line for line in text.splitlines() if line.startswith(f" 127.0.0.1:{held.port} ")]
        assert row.split()[1:3] == ["loopback", "python"] and str(held.pid) in row
        header = next(line for line in text.splitlines() if "LISTEN" in line)
        assert header.split()[:6] == ["LISTEN", "EXPOSURE", "OWNER", "CONN", "IN/s", "OUT/s"]  # fits 80 columns
        assert "q quit" in text and "k kill" in text
        shot = app.save_screenshot("watch-main-80x24.svg", str(tmp_path))
        print(f"screenshot of the main view: {shot}")
        assert Path(shot).read_text().startswith("<svg")
        stop_holder(held)
        await until(pilot, lambda: f"closed tcp 127.0.0.1:{held.port} loopback python ({held.pid})" in log_text(app))
        await until(pilot, lambda: held.port not in ports(app))

    drive(WatchApp(interval=0.2), test)


def test_typing_filters_the_table(hold) -> None:
    async def test(app: WatchApp, pilot: Pilot[int]) -> None:
        first, second = hold("tcp:127.0.0.1:0"), hold("udp:127.0.0.1:0")
        await until(pilot, lambda: {first.port, second.port} <= set(ports(app)))
        await only(app, pilot, first.port)
        assert f"filter: {first.port} (1 shown)" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: {first.port, second.port} <= set(ports(app)))
        assert table_matches(app)
        for order in ("traffic", "connections", "process", "port"):
            await pilot.press("s")
            assert f"sort: {order}" in screen_text(app)
            await pilot.pause(0.3)
            assert table_matches(app)
        await pilot.press("slash", *f"{second.port}/udp")
        await until(pilot, lambda: ports(app) == [second.port])
        assert table_matches(app)

    drive(WatchApp(interval=0.2), test)


def test_the_kill_key_asks_then_ends_the_tests_own_victim(hold) -> None:
    async def test(app: WatchApp, pilot: Pilot[int]) -> None:
        victim = hold("tcp:127.0.0.1:0")
        await until(pilot, lambda: victim.port in ports(app))
        await only(app, pilot, victim.port)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert f"pid {victim.pid}" in screen_text(app)
        await pilot.press("n")
        await until(pilot, lambda: "declined, nothing signalled" in log_text(app))
        assert victim.proc.poll() is None
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: victim.proc.poll() is not None)
        await until(pilot, lambda: f"kill port {victim.port}: SIGTERM to python ({victim.pid}); the port is free"
                    in log_text(app))
        await until(pilot, lambda: f"closed tcp 127.0.0.1:{victim.port}" in log_text(app))

    drive(WatchApp(interval=0.2), test)


@pytest.fixture
def web_port() -> Iterator[int]:
    """tests/scenario/webapp.py answering HTTP 200 on 127.0.0.1, stopped afterwards."""
    web = subprocess.Popen([sys.executable, str(HERE / "webapp.py"), "127.0.0.1", "--status", "200"],
                           stdout=subprocess.PIPE, text=True)
    assert web.stdout is not None
    try:
        yield json.loads(web.stdout.readline())["port"]
    finally:
        web.kill()
        web.wait(10)


def test_who_and_doctor_show_what_the_cli_prints(web_port: int) -> None:
    async def test(app: WatchApp, pilot: Pilot[int]) -> None:
        port = web_port
        await until(pilot, lambda: port in ports(app))
        await only(app, pilot, port)
        (pid,) = [p.pid for p in app.rows[app.order[0]].listener.processes]
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, Page) and "cwd:" in screen_text(app))
        text = screen_text(app)
        assert f"portside who 127.0.0.1:{port}" in text and f"pid {pid}  python" in text and "cwd:" in text
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, Page))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, Page))
        # doctor fills its page when its dials are done (up to ~2 s on a loaded machine)
        await until(pilot, lambda: f"ok: 127.0.0.1:{port} connected" in screen_text(app))

    drive(WatchApp(interval=0.2), test)


def test_the_open_key_opens_http_listeners_only(hold, web_port: int) -> None:
    opened: list[str] = []
    port = web_port

    async def test(app: WatchApp, pilot: Pilot[int]) -> None:
        plain = hold("tcp:127.0.0.1:0")
        await until(pilot, lambda: {port, plain.port} <= set(ports(app)))
        await only(app, pilot, plain.port)
        await pilot.press("o")
        await pilot.pause(2.0)
        assert opened == []
        await pilot.press("escape")
        await only(app, pilot, port)
        await pilot.press("o")
        await until(pilot, lambda: opened == [f"http://127.0.0.1:{port}/"])
        await until(pilot, lambda: f"opened http://127.0.0.1:{port}/ in the browser" in log_text(app))

    drive(WatchApp(interval=0.2, browser=opened.append), test)


def test_no_color_and_exposed_only(hold, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def test(app: WatchApp, pilot: Pilot[int]) -> None:
        held = hold("tcp:127.0.0.1:0", "udp:0.0.0.0:0")
        await until(pilot, lambda: held.ports[1] in ports(app))
        await pilot.pause(0.5)
        assert held.ports[0] not in ports(app)  # loopback: left out
        assert app.no_color
        assert "beyond loopback" in screen_text(app)

    drive(WatchApp(interval=0.2, exposed=True), test)


class Recording(WatchApp):
    """The app, keeping every sample's traffic for the test to add up."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.ticks: list[Tick] = []

    def apply(self, tick: Tick) -> None:
        self.ticks.append(tick)
        super().apply(tick)


REBIND = """
import socket, sys, threading

def drain(server):
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        while conn.recv(1 << 20):
            pass
        conn.close()

server = socket.create_server(("127.0.0.1", 0))
port = server.getsockname()[1]
drainer = threading.Thread(target=drain, args=(server,), daemon=True)
drainer.start()
print(port, flush=True)
sys.stdin.readline()
server.shutdown(socket.SHUT_RDWR)  # wakes the accept, so the socket is really gone at close
drainer.join()
server.close()
server = socket.create_server(("0.0.0.0", port))
print("wide", flush=True)
sys.stdin.readline()
"""


def test_traffic_and_a_move_to_every_address_show_in_the_table_and_the_log() -> None:
    """10 MB through a listener, counted once over the samples; then its move from 127.0.0.1 to 0.0.0.0."""
    service = subprocess.Popen([sys.executable, "-c", REBIND], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert service.stdin is not None and service.stdout is not None
    port = int(service.stdout.readline())

    def received(app: Recording) -> int:
        return sum(figures.bytes_in for tick in app.ticks for key, figures in tick.traffic.items() if key[3] == port)

    async def test(app: Recording, pilot: Pilot[int]) -> None:
        await until(pilot, lambda: port in ports(app))
        await only(app, pilot, port)
        client = socket.create_connection(("127.0.0.1", port))
        await until(pilot, lambda: app.rows[app.order[0]].cells[3] == "1")  # CONN
        await asyncio.to_thread(client.sendall, b"x" * 10_000_000)
        await until(pilot, lambda: app.rows[app.order[0]].cells[4] != "0")  # IN/s
        client.close()
        await until(pilot, lambda: app.rows[app.order[0]].cells[3] == "0" and received(app) >= 10_000_000)
        assert received(app) in (10_000_000, 10_000_001)  # the client's FIN counts as a byte
        service.stdin.write("\n")
        service.stdin.flush()
        assert service.stdout.readline() == "wide\n"
        await until(pilot, lambda: f"exposure-changed tcp 0.0.0.0:{port} loopback -> all (was 127.0.0.1:{port})"
                    in log_text(app))
        await until(pilot, lambda: [app.rows[key].cells[1] for key in app.order] == ["all"])

    try:
        drive(Recording(interval=0.2), test)  # type: ignore[arg-type]
    finally:
        service.kill()
        service.wait(10)
