"""`portside probe` against real servers, each on a port that is not its default, with its own config and log.

Each server (probe_cases.py) is named, within 300 ms, and its log shows no error or warning
after the probe (read once the log has gone quiet), but for the lines probe_cases.py allows
because any client of that protocol leaves them. No Kafka or MongoDB server installs
from Debian here: their fingerprints are tested with bytes in tests/unit.
"""

from __future__ import annotations

import re
import socket
import statistics
import threading
import time
from pathlib import Path

import daemons
import pytest
from probe_cases import CASES, errors_in, quiet
from support import unleased_port

import portside


def matches(value: object, expected: object) -> bool:
    return bool(expected(value)) if callable(expected) else value == expected


@pytest.mark.servers
@pytest.mark.parametrize("name", CASES)
def test_probe_names_the_server_and_leaves_no_error_in_its_log(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    port = unleased_port()
    daemon = case.start(tmp_path, port)
    try:
        before = quiet(daemon.log)
        began = time.perf_counter()
        (attempt,) = portside.probe(f"127.0.0.1:{port}")
        took = time.perf_counter() - began
        time.sleep(0.5)  # a server may log a close only once it notices it
        after = quiet(daemon.log)
    finally:
        daemon.stop()
    assert attempt.protocol == case.protocol, attempt
    assert {key: matches(attempt.details.get(key), value) for key, value in case.details.items()} == dict.fromkeys(
        case.details, True), attempt.details
    written = daemon.log.read_bytes()[before:after].decode(errors="replace")
    assert errors_in(case, written) == [], written
    assert took < 0.3, f"{took * 1000:.0f} ms"


@pytest.mark.servers
def test_vite_is_named_as_a_dev_server(tmp_path: Path, vite_project: Path) -> None:
    port = unleased_port()
    daemon = daemons.vite(tmp_path, port, vite_project)
    try:
        before = quiet(daemon.log)
        (attempt,) = portside.probe(f"127.0.0.1:{port}")
        written = daemon.log.read_bytes()[before : quiet(daemon.log)].decode(errors="replace")
    finally:
        daemon.stop()
    assert (attempt.protocol, attempt.details.get("dev_server"), attempt.details.get("status")) == ("http", "vite", 200)
    assert not re.search(r"(?i)error|warn", written), written


@pytest.mark.servers
@pytest.mark.parametrize("name", ["mariadb", "git-daemon"])
def test_what_the_probe_leaves_a_bare_connect_leaves_too(tmp_path: Path, name: str) -> None:
    """The one line the probe leaves on MariaDB and on git daemon is what any TCP connect that logs in to
    nothing or asks nothing leaves."""
    case = CASES[name]
    port = unleased_port()
    daemon = case.start(tmp_path, port)
    try:
        before = quiet(daemon.log)
        socket.create_connection(("127.0.0.1", port)).close()
        deadline = time.monotonic() + 10
        while not re.search(case.allowed, daemon.log.read_bytes()[before:].decode(), re.MULTILINE):
            assert time.monotonic() < deadline, daemon.log.read_bytes()[before:]
            time.sleep(0.05)
    finally:
        daemon.stop()


def test_a_plain_http_server_is_named_within_50_ms(tmp_path: Path) -> None:
    port = unleased_port()
    daemon = daemons.http_server(tmp_path, port)
    times = []
    try:
        for _ in range(5):
            began = time.perf_counter()
            (attempt,) = portside.probe(f"127.0.0.1:{port}")
            times.append(time.perf_counter() - began)
            assert attempt.protocol == "http"
    finally:
        daemon.stop()
    assert statistics.median(times) < 0.05, [f"{t * 1000:.0f} ms" for t in times]


def test_a_silent_server_hears_one_question_on_one_connection() -> None:
    """A server that never answers is asked once (an HTTP GET, the likeliest), on the connection the probe timed."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    heard: list[bytes] = []

    def record() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            data = b""
            with conn:
                while chunk := conn.recv(4096):
                    data += chunk
            heard.append(data)

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    try:
        (attempt,) = portside.probe(f"127.0.0.1:{port}")
        time.sleep(0.2)
    finally:
        server.close()
    assert (attempt.protocol, attempt.details.get("note")) == ("unknown", "no answer to http")
    assert len(heard) == 1 and heard[0].startswith(b"GET / HTTP/1.1\r\n") and heard[0].endswith(b"\r\n\r\n")


def test_a_long_page_is_read_to_its_end(tmp_path: Path) -> None:
    """A page longer than the probe reads is drained, not cut off: http.server logs a reset as a traceback."""
    (tmp_path / "index.html").write_bytes(b"<html>" + b"x" * (4 << 20) + b"</html>")
    port = unleased_port()
    daemon = daemons.http_server(tmp_path, port)
    try:
        before = quiet(daemon.log)
        (attempt,) = portside.probe(f"127.0.0.1:{port}")
        time.sleep(0.5)
        written = daemon.log.read_bytes()[before : quiet(daemon.log)].decode(errors="replace")
    finally:
        daemon.stop()
    assert attempt.protocol == "http" and attempt.details["status"] == 200
    assert '"GET / HTTP/1.1" 200' in written and "Traceback" not in written and "Error" not in written, written
