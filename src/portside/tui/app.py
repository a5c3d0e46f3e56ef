"""The Textual app of `portside watch`: a live table of listeners, an event log, and keys to act on one.

Each interval a sample (`Watcher.step`: netlink and /proc) runs in a thread, so the screen never
waits on the machine; the table is then updated in place, and rebuilt only when its rows change.
Keys act on the selected listener through the public API and the CLI's own words: `w` shows what
`portside who` prints, `d` what `portside doctor` prints, `k` calls `portside.kill` once the
confirmation screen got a yes (kill's safety holds: never pid 1, portside or its parents), `o`
opens the listener in the browser when a probe finds HTTP there. `/` filters by typed words, `s`
changes the order. Notes (what this user may not see, and why) stay under the title. Textual
honours NO_COLOR.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import ClassVar, cast

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Input, RichLog, Static

import portside
from portside.cli.environment import Environment
from portside.cli.render.events import event_line, where
from portside.errors import PortsideError
from portside.model import Exposure, KillReport, Listener, ProcessInfo, Protocol
from portside.monitor.events import EventKind, ListenerKey, Traffic, exposed, key_of
from portside.monitor.watcher import Tick, Watcher
from portside.net.addresses import AddressKind, classify, host_port
from portside.tui.dialogs import Confirm, Page
from portside.tui.rows import COLUMNS, Row, SortBy, row_of, shown


def cli_text(*argv: str) -> str:
    """What `portside ARGV...` prints (stdout, then stderr), run in this process."""
    from portside.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    main(list(argv), Environment(out, err, None, False, False, False))
    return out.getvalue() + err.getvalue()


def dial_host(listener: Listener) -> str:
    """The host a client on this machine names to reach `listener`: `localhost` for a wildcard."""
    return "localhost" if classify(listener.address) is AddressKind.WILDCARD else listener.address


def who_target(listener: Listener) -> str:
    """A wildcard's port alone (every listener there), else its own address and port."""
    if classify(listener.address) is AddressKind.WILDCARD:
        return str(listener.port)
    return host_port(listener.address, listener.port)


def kill_summary(report: KillReport) -> str:
    if report.declined:
        return f"kill port {report.port}: declined, nothing signalled"
    if not report.victims:
        return f"kill port {report.port}: nothing held it"
    sent = ", ".join(f"{name} to {info.name} ({info.pid})" for info, name in report.signalled) or "nothing sent"
    gone = ", ".join(f"{info.name} ({info.pid})" for info in report.vanished)
    alive = ", ".join(f"{info.name} ({info.pid})" for info in report.survivors)
    return (f"kill port {report.port}: {sent}" + (f"; already gone: {gone}" if gone else "")
            + (f"; still running: {alive}" if alive else "")
            + ("; the port is free" if report.freed else "; the port is still held"))


def question(port: int, victims: tuple[ProcessInfo, ...]) -> str:
    lines = [f"Send SIGTERM to every process listening on port {port}?", ""]
    lines.extend(f"  pid {info.pid}  {info.user or '?'}  {' '.join(info.cmdline) or info.name}" for info in victims)
    return "\n".join(lines)


class WatchApp(App[int]):
    """`portside watch` on a terminal."""

    TITLE = "portside watch"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #status { height: 1; padding: 0 1; background: $primary-background; }
    #notes { height: auto; max-height: 3; padding: 0 1; color: $warning; display: none; }
    #notes.shown { display: block; }
    #table { height: 1fr; }
    #filter { height: 1; border: none; padding: 0 1; display: none; }
    #filter.active { display: block; }
    #log { height: 6; border-top: solid $primary; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "quit"),
        Binding("slash", "filter", "filter"),
        Binding("s", "sort", "sort"),
        Binding("w", "who", "who"),
        Binding("d", "doctor", "doctor"),
        Binding("o", "open", "open"),
        Binding("k", "kill", "kill"),
        Binding("escape", "clear_filter", "clear filter", show=False),
    ]

    def __init__(
        self,
        *,
        interval: float = 1.0,
        exposed: bool = False,
        traffic: bool = True,
        protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP),
        duration: float | None = None,
        browser: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__()
        self.interval = interval
        self.exposed_only = exposed
        self.duration = duration
        self.browser = browser
        self.watcher = Watcher(protocols=protocols, traffic=traffic)
        self.sort_by = SortBy.PORT
        self.typed = ""
        self.notes: list[str] = []
        self.listeners: tuple[Listener, ...] = ()
        self.traffic: dict[ListenerKey, Traffic] = {}
        self.moved: dict[ListenerKey, tuple[int, int, int]] = {}
        self.rows: dict[str, Row] = {}
        self.order: list[str] = []
        self.busy = False
        self.samples = 0
        self.status = ""

    def compose(self) -> ComposeResult:
        yield Static(id="status", markup=False)
        yield Static(id="notes", markup=False)
        yield DataTable(id="table", cursor_type="row")
        yield Input(placeholder="filter: words to match (escape clears)", id="filter")
        yield RichLog(id="log", max_lines=1000, wrap=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        table.focus()
        self.show_status()
        self.set_interval(self.interval, self.sample)
        self.call_later(self.sample)
        if self.duration is not None:
            self.set_timer(self.duration, lambda: self.exit(0))

    def on_unmount(self) -> None:
        self.watcher.close()

    async def sample(self) -> None:
        """One step of the watcher, in a thread; skipped while the last one still runs."""
        if self.busy:
            return
        self.busy = True
        try:
            tick = await asyncio.to_thread(self.watcher.step)
        except PortsideError as error:
            self.add_note(f"sampling failed: {error}")
            return
        finally:
            self.busy = False
        self.apply(tick)

    def apply(self, tick: Tick) -> None:
        self.samples += 1
        log = self.query_one(RichLog)
        for event in tick.events:
            if event.kind is EventKind.NOTE and event.note is not None:
                self.add_note(event.note)
            elif event.kind is not EventKind.TRAFFIC and (not self.exposed_only or exposed(event)):
                log.write(Text(event_line(event)))
        moved = {key: figures[:3] for key, figures in tick.traffic.items()}
        if self.samples == 1 or tick.listeners != self.listeners or moved != self.moved:  # else no cell changes
            self.listeners, self.traffic, self.moved = tick.listeners, tick.traffic, moved
            self.redraw()

    def redraw(self) -> None:
        """Bring the table to the listeners, filter and order now, in place: rows that went are removed,
        new ones added, changed cells rewritten, and the rows sorted only when their order changed."""
        rows = [row_of(item, self.traffic.get(key_of(item))) for item in self.listeners
                if not self.exposed_only or item.exposure is not Exposure.LOOPBACK]
        visible = shown(rows, self.typed, self.sort_by)
        wanted = {row.key: row for row in visible}
        order = [row.key for row in visible]
        table = self.query_one(DataTable)
        selected = self.selected_key()
        for key in self.rows.keys() - wanted.keys():
            table.remove_row(key)
        for row in visible:
            before = self.rows.get(row.key)
            if before is None:
                table.add_row(*(Text(cell) for cell in row.cells), key=row.key)
                continue
            for name, old, new in zip(COLUMNS, before.cells, row.cells, strict=True):
                if old != new:
                    table.update_cell(row.key, name, Text(new), update_width=True)
        kept = [key for key in self.order if key in wanted]
        if kept + [key for key in order if key not in self.rows] != order:
            place = {row.cells[0]: index for index, row in enumerate(visible)}  # LISTEN is unique per row
            table.sort("LISTEN", key=lambda listen: place[str(listen)])
        if selected in wanted and selected != (order[table.cursor_row] if 0 <= table.cursor_row < len(order)
                                               else None):
            table.move_cursor(row=order.index(selected), animate=False)
        self.rows = wanted
        self.order = order
        self.show_status(len(rows))

    def show_status(self, total: int | None = None) -> None:
        count = "sampling..." if total is None else f"{total} listener{'' if total == 1 else 's'}"
        parts = [f"portside watch  {count}{' beyond loopback' if self.exposed_only else ''}",
                 f"every {self.interval:g}s", f"sort: {self.sort_by.value}"]
        if self.typed:
            parts.append(f"filter: {self.typed} ({len(self.order)} shown)")
        text = "  ".join(parts)
        if text != self.status:  # an update lays the screen out again: only when the words change
            self.status = text
            self.query_one("#status", Static).update(text)

    def add_note(self, note: str) -> None:
        if note in self.notes:
            return
        self.notes.append(note)
        box = self.query_one("#notes", Static)
        box.update("\n".join(f"note: {text}" for text in self.notes))
        box.add_class("shown")

    def log_line(self, text: str) -> None:
        self.query_one(RichLog).write(Text(text))

    def selected_key(self) -> str | None:
        row = self.query_one(DataTable).cursor_row
        return self.order[row] if 0 <= row < len(self.order) else None

    def selected(self) -> Listener | None:
        key = self.selected_key()
        if key is None:
            self.notify("no listener selected", severity="warning")
            return None
        return self.rows[key].listener

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("active")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("active")
        self.typed = ""
        self.query_one(DataTable).focus()
        self.redraw()

    def on_input_changed(self, message: Input.Changed) -> None:
        self.typed = message.value
        self.redraw()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        if not message.value:
            message.input.remove_class("active")
        self.query_one(DataTable).focus()

    def action_sort(self) -> None:
        members = list(SortBy)
        self.sort_by = members[(members.index(self.sort_by) + 1) % len(members)]
        self.redraw()

    def action_who(self) -> None:
        listener = self.selected()
        if listener is not None:
            target = who_target(listener)
            self.run_worker(self.page(f"portside who {target}", "who", target), group="pages")

    def action_doctor(self) -> None:
        listener = self.selected()
        if listener is None:
            return
        if listener.protocol is not Protocol.TCP:
            self.notify("doctor diagnoses TCP connections; this is a UDP socket", severity="warning")
            return
        target = host_port(dial_host(listener), listener.port)
        self.notify(f"portside doctor {target} ...")
        self.run_worker(self.page(f"portside doctor {target}", "doctor", target), group="pages")

    async def page(self, title: str, *argv: str) -> None:
        text = await asyncio.to_thread(cli_text, *argv)
        self.push_screen(Page(title, text))

    def action_open(self) -> None:
        listener = self.selected()
        if listener is None:
            return
        if listener.protocol is not Protocol.TCP:
            self.notify("a browser speaks TCP; this is a UDP socket", severity="warning")
            return
        self.run_worker(self.open(listener), group="open")

    async def open(self, listener: Listener) -> None:
        """Open the listener in the browser when a probe finds HTTP (or TLS, then https) there."""
        target = host_port(dial_host(listener), listener.port)
        attempts = await asyncio.to_thread(portside.probe, target)
        spoken = [attempt.protocol for attempt in attempts if attempt.protocol]
        scheme = "http" if "http" in spoken else "https" if "tls" in spoken else None
        if scheme is None:
            said = f"it answers as {spoken[0]}" if spoken else "no HTTP answer"
            self.notify(f"{where(listener)} is not an HTTP server: {said}", severity="warning")
            return
        url = f"{scheme}://{target}/"
        if self.browser is None:
            import webbrowser

            opener: Callable[[str], object] = webbrowser.open
        else:
            opener = self.browser
        await asyncio.to_thread(opener, url)
        self.log_line(f"opened {url} in the browser")

    def action_kill(self) -> None:
        listener = self.selected()
        if listener is not None:
            self.run_worker(self.kill(listener.port), group="kill")

    async def kill(self, port: int) -> None:
        """`portside.kill(port)`, asking first on a confirmation screen; the outcome goes to the event log."""

        def ask(victims: tuple[ProcessInfo, ...]) -> bool:
            # call_from_thread awaits the future `confirm` returns; mypy cannot solve its union, hence the cast.
            asking = cast("Callable[[str], bool | None]", self.confirm)
            return bool(self.call_from_thread(asking, question(port, victims)))

        try:
            report = await asyncio.to_thread(portside.kill, port, confirm=ask)
        except PortsideError as error:
            self.log_line(f"kill port {port}: {error}")
            self.notify(str(error), severity="error")
            return
        self.log_line(kill_summary(report))

    def confirm(self, text: str) -> asyncio.Future[bool | None]:
        """Show the question; the future holds the answer (call_from_thread waits for it)."""
        answered: asyncio.Future[bool | None] = asyncio.get_running_loop().create_future()
        self.push_screen(Confirm(text), callback=answered.set_result)
        return answered


def run_app(
    *,
    interval: float,
    exposed: bool,
    traffic: bool,
    protocols: tuple[Protocol, ...],
    duration: float | None,
) -> int:
    """Run the app on this terminal until `q` (or `duration`); its exit status."""
    app = WatchApp(interval=interval, exposed=exposed, traffic=traffic, protocols=protocols, duration=duration)
    app.run()
    return app.return_code or 0
