"""The dashboard's HTML: the whole page, and each table's body alone (what the live stream sends) — pure.

Every value from the machine (process names, command lines, output lines, container names,
notes) is escaped: a process may name itself `<script>`. The page needs no JavaScript to be
read; dashboard.js only swaps table bodies from the event stream and sends the actions.
"""

from __future__ import annotations

import time
from html import escape

from portside.containers.describe import label
from portside.model import Exposure, Listener, RouteKind
from portside.monitor.events import Event, EventKind, Traffic, key_of
from portside.web.view import View, filtered, listener_key

SECTIONS = ("listeners", "services", "routes", "leases", "events")
STYLE = """
body{font:14px system-ui,sans-serif;margin:1.5em;color:#1b1f24;background:#fafafa}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid #e3e3e3;vertical-align:top}
th{background:#f0f0f0}
.exposure-all{color:#b00020;font-weight:600}.exposure-interface{color:#a15c00;font-weight:600}
pre{margin:0;max-height:12em;overflow:auto;font-size:12px;background:#f6f8fa;padding:.3em}
.stderr{color:#b00020}.note{color:#555}#status{color:#555;font-size:12px}#message{margin-left:1em}
button{font-size:12px}
"""


def _cell(text: object) -> str:
    return f"<td>{escape(str(text))}</td>"


def _button(action: str, key: str, value: str, text: str) -> str:
    return (f'<button type="button" data-action="{escape(action)}" data-{key}="{escape(value)}">'
            f"{escape(text)}</button>")


def rate(figure: float) -> str:
    """Bytes per second, short: 0, 512 B/s, 1.5 KB/s, 2.0 MB/s."""
    if figure < 1:
        return "0"
    for unit in ("B/s", "KB/s", "MB/s"):
        if figure < 1024 or unit == "MB/s":
            return f"{figure:.0f} {unit}" if unit == "B/s" else f"{figure:.1f} {unit}"
        figure /= 1024
    return f"{figure:.1f} GB/s"


def _owners(item: Listener) -> str:
    if not item.processes:
        return item.note or "(hidden)"
    return ", ".join(f"{info.name} ({info.pid})" for info in item.processes)


def listener_rows(view: View, query: str = "") -> str:
    shown, left_out = filtered(view.listeners, query)
    rows = []
    for item in shown:
        traffic = view.traffic.get(key_of(item)) or Traffic(0, 0, 0, 0.0)
        exposure = f'<td class="exposure-{escape(item.exposure.value)}">{escape(item.exposure.value)}</td>'
        container = label(item.container) if item.container is not None else ""
        can_kill = item.processes and item.container is None
        action = _button("kill", "port", str(item.port), "kill") if can_kill else ""
        rows.append(f'<tr id="l-{escape(listener_key(item))}" data-port="{item.port}">'
                    f"{_cell(item.protocol.value)}{_cell(item.address)}{_cell(item.port)}{exposure}"
                    f"{_cell(_owners(item))}{_cell(container)}{_cell(traffic.connections)}"
                    f"{_cell(rate(traffic.rate_in))}{_cell(rate(traffic.rate_out))}<td>{action}</td></tr>")
    if left_out or view.hidden:
        rows.append(f'<tr><td colspan="10" class="note">{left_out + view.hidden} more not shown: '
                    "narrow the filter</td></tr>")
    return "".join(rows) or '<tr><td colspan="10" class="note">no listeners</td></tr>'


def service_rows(view: View) -> str:
    rows = []
    for service in view.services:
        route = service.route
        output = service.output
        command = " ".join(output.command) if output else ""
        lines = "".join(f'<span class="{escape(stream)}">{escape(text)}</span>\n'
                        for stream, text in (output.lines if output else ()))
        rows.append(f'<tr id="s-{escape(route.name)}">{_cell(route.name)}'
                    f'<td><a href="{escape(service.url)}">{escape(service.url)}</a></td>{_cell(route.port)}'
                    f"{_cell(route.owner_pid)}{_cell(command)}<td><pre>{lines}</pre></td>"
                    f"<td>{_button('stop', 'name', route.name, 'stop')}</td></tr>")
    return "".join(rows) or '<tr><td colspan="7" class="note">no run services</td></tr>'


def route_rows(view: View) -> str:
    rows = []
    for route, url in view.routes:
        action = _button("unalias", "name", route.name, "remove") if route.kind is RouteKind.ALIAS else ""
        owner = f"pid {route.owner_pid}" if route.owner_pid is not None else ""
        rows.append(f'<tr id="r-{escape(route.name)}">{_cell(route.name)}<td><a href="{escape(url)}">{escape(url)}'
                    f"</a></td>{_cell(route.port)}{_cell(route.kind.value)}{_cell(owner)}<td>{action}</td></tr>")
    return "".join(rows) or '<tr><td colspan="6" class="note">no routes</td></tr>'


def lease_rows(view: View) -> str:
    rows = []
    for state in view.leases:
        lease = state.lease
        expires = time.strftime("%Y-%m-%d %H:%M", time.localtime(lease.expires)) if lease.expires else ""
        rows.append(f'<tr id="p-{lease.port}">{_cell(lease.port)}{_cell(lease.protocol.value)}{_cell(lease.name or "")}'
                    f"{_cell(f'pid {lease.owner_pid}')}{_cell('yes' if state.alive else 'no')}{_cell(expires)}"
                    f"<td>{_button('release', 'port', str(lease.port), 'release')}</td></tr>")
    return "".join(rows) or '<tr><td colspan="7" class="note">no leases</td></tr>'


def _describe(event: Event) -> str:
    if event.kind is EventKind.NOTE or event.listener is None:
        return event.note or ""
    item = event.listener
    where = f"{item.protocol.value} {item.address}:{item.port} ({item.exposure.value})"
    if event.kind is EventKind.EXPOSURE_CHANGED and event.before is not None:
        where = f"{where}, was {event.before.address} ({event.before.exposure.value})"
    owners = _owners(item) if item.processes else ""
    return f"{where} {owners}".strip()


def event_rows(view: View) -> str:
    rows = [f"<tr>{_cell(time.strftime('%H:%M:%S', time.localtime(event.time)))}{_cell(event.kind.value)}"
            f"{_cell(_describe(event))}</tr>" for event in reversed(view.events)]
    return "".join(rows) or '<tr><td colspan="3" class="note">no events yet (they are recorded while a dashboard is ' \
                            "open)</td></tr>"


def fragments(view: View, query: str = "") -> dict[str, str]:
    """Each section's table body, by section name."""
    return {"listeners": listener_rows(view, query), "services": service_rows(view), "routes": route_rows(view),
            "leases": lease_rows(view), "events": event_rows(view)}


HEADS = {
    "listeners": ("Listeners", ("protocol", "address", "port", "exposure", "owners", "container", "connections",
                                "in", "out", "")),
    "services": ("Run services", ("name", "URL", "port", "run pid", "command", "recent output", "")),
    "routes": ("Routes", ("name", "URL", "port", "kind", "owner", "")),
    "leases": ("Leases", ("port", "protocol", "name", "owner", "alive", "expires", "")),
    "events": ("Events", ("time", "kind", "what")),
}


def page(view: View, query: str = "") -> str:
    """The whole dashboard page."""
    bodies = fragments(view, query)
    exposed = sum(1 for item in view.listeners if item.exposure is not Exposure.LOOPBACK)
    sections = []
    for name in SECTIONS:
        title, columns = HEADS[name]
        head = "".join(f"<th>{escape(column)}</th>" for column in columns)
        sections.append(f'<section><h2>{escape(title)}</h2><table><thead><tr>{head}</tr></thead>'
                        f'<tbody id="{name}">{bodies[name]}</tbody></table></section>')
    notes = "".join(f'<p class="note">{escape(note)}</p>' for note in view.notes)
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>portside</title>"
            f"<meta name=\"viewport\" content=\"width=device-width\"><style>{STYLE}</style>"
            '<script src="/static/dashboard.js" defer></script></head><body>'
            f"<h1>portside</h1><p>{len(view.listeners)} listeners, {exposed} reachable beyond loopback. "
            '<span id="status">live updates need JavaScript; reload to refresh</span> '
            '<strong id="message" role="status"></strong></p>'
            f'<form method="get" action="/"><input name="q" value="{escape(query)}" placeholder="filter: port, '
            'address, process, container"> <button>filter</button></form>'
            f"{notes}{''.join(sections)}</body></html>")
