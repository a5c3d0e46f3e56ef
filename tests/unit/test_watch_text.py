"""What `watch` says to people and scripts: event lines, the JSON event shape, the TUI's rows."""

from __future__ import annotations

import json

import pytest
from records import listener, process

from portside.cli.render.events import describe, short_bytes
from portside.cli.render.shapes import event_json
from portside.model import Protocol
from portside.monitor.events import Event, EventKind, Traffic
from portside.tui.rows import SortBy, owner_text, rate, row_of, shown

T = 1_800_000_000.25
WEB = process(4242, "python3")
LOCAL = listener("127.0.0.1", 8000, WEB)
WIDE = listener("0.0.0.0", 8000, WEB)


@pytest.mark.parametrize(("event", "line"), [
    (Event(EventKind.OPENED, T, LOCAL), "opened tcp 127.0.0.1:8000 loopback python3 (4242)"),
    (Event(EventKind.CLOSED, T, listener("::1", 53, protocol=Protocol.UDP)), "closed udp [::1]:53 loopback ?"),
    (Event(EventKind.EXPOSURE_CHANGED, T, WIDE, LOCAL),
     "exposure-changed tcp 0.0.0.0:8000 loopback -> all (was 127.0.0.1:8000)"),
    (Event(EventKind.OWNER_CHANGED, T, LOCAL._replace(processes=(WEB, process(4243, "python3"))), LOCAL),
     "owner-changed tcp 127.0.0.1:8000 python3 (4242) -> python3 (4242), python3 (4243)"),
    (Event(EventKind.TRAFFIC, T, LOCAL, traffic=Traffic(3, 10_000_001, 1500, 2.0)),
     "traffic tcp 127.0.0.1:8000 3 conn, in 5.0 MB/s, out 750 B/s"),
    (Event(EventKind.NOTE, T, None, note="could not read"), "note: could not read"),
])
def test_event_lines(event: Event, line: str) -> None:
    assert describe(event) == line


@pytest.mark.parametrize(("count", "text"), [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (1_234_567, "1.2 MB"),
                                             (5e12, "5.0 TB"), (7e15, "7000.0 TB")])
def test_short_bytes(count: float, text: str) -> None:
    assert short_bytes(count) == text


P_WEB = ('{"pid":4242,"name":"python3","cmdline":["python3"],"user":"dev","uid":1000,"ppid":1,'
         '"start_time":1700000000.0}')
L_LOCAL = ('{"protocol":"tcp","family":"ipv4","address":"127.0.0.1","port":8000,"dual_stack":false,'
           '"exposure":"loopback","reachable_on":["127.0.0.1"],"processes":[' + P_WEB + '],"socket_users":[],'
           '"inodes":[80000],"accept_queue":null,"backlog":null,"note":null,"container":null}')


@pytest.mark.parametrize(("event", "text"), [
    (Event(EventKind.OPENED, T, LOCAL),
     '{"event":"opened","time":1800000000.25,"listener":' + L_LOCAL + ',"before":null,"traffic":null,"note":null}'),
    (Event(EventKind.OWNER_CHANGED, T, LOCAL, LOCAL),
     '{"event":"owner-changed","time":1800000000.25,"listener":' + L_LOCAL + ',"before":' + L_LOCAL
     + ',"traffic":null,"note":null}'),
    (Event(EventKind.TRAFFIC, T, LOCAL, traffic=Traffic(2, 3000, 10, 1.5)),
     '{"event":"traffic","time":1800000000.25,"listener":' + L_LOCAL + ',"before":null,"traffic":{"connections":2,'
     '"bytes_in":3000,"bytes_out":10,"seconds":1.5,"rate_in":2000.0,"rate_out":6.7},"note":null}'),
    (Event(EventKind.NOTE, T, None, note="n"),
     '{"event":"note","time":1800000000.25,"listener":null,"before":null,"traffic":null,"note":"n"}'),
])
def test_event_json_is_exact(event: Event, text: str) -> None:
    assert json.dumps(event_json(event), separators=(",", ":")) == text


@pytest.mark.parametrize(("value", "text"), [(0, "0"), (512, "512"), (999.4, "999"), (999.6, "1.0k"),
                                             (1234, "1.2k"), (34_000, "34k"), (1_250_000, "1.2M"), (3e9, "3.0G")])
def test_rates_fit_five_characters(value: float, text: str) -> None:
    assert rate(value) == text and len(text) <= 5


def test_rows_of_tcp_and_udp() -> None:
    tcp = row_of(LOCAL, Traffic(3, 2_000_000, 1000, 2.0))
    assert tcp.cells == ("127.0.0.1:8000", "loopback", "python3 4242", "3", "1.0M", "500", "-")
    udp = row_of(listener("::1", 53, protocol=Protocol.UDP), None)
    assert udp.cells == ("[::1]:53/udp", "loopback", "?", "", "", "", "-")


def test_owner_text_fits_its_column() -> None:
    many = LOCAL._replace(processes=(process(123456, "a-very-long-process-name"), WEB, WEB))
    assert owner_text(many) == "a-very 123456 +2"
    assert owner_text(LOCAL) == "python3 4242"


def test_filter_by_words_and_sort() -> None:
    rows = [row_of(listener("127.0.0.1", 8000, WEB), Traffic(1, 10, 0, 1.0)),
            row_of(listener("0.0.0.0", 5432, process(70, "postgres", user="postgres")), Traffic(5, 0, 0, 1.0)),
            row_of(listener("127.0.0.1", 6379, process(71, "redis-server")), Traffic(0, 900, 900, 1.0))]
    assert [row.listener.port for row in shown(rows, "", SortBy.PORT)] == [5432, 6379, 8000]
    assert [row.listener.port for row in shown(rows, "", SortBy.TRAFFIC)] == [6379, 8000, 5432]
    assert [row.listener.port for row in shown(rows, "", SortBy.CONNECTIONS)] == [5432, 8000, 6379]
    assert [row.listener.port for row in shown(rows, "", SortBy.PROCESS)] == [5432, 8000, 6379]
    assert [row.listener.port for row in shown(rows, "LOOPBACK 63", SortBy.PORT)] == [6379]
    assert [row.listener.port for row in shown(rows, "postgres", SortBy.PORT)] == [5432]  # the user too
    assert [row.listener.port for row in shown(rows, "70", SortBy.PORT)] == [5432]
    assert shown(rows, "nothing-like-it", SortBy.PORT) == []
