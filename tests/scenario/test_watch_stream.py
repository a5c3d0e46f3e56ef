"""`portside watch --json` and its plain and --exec forms, against real listeners, processes and bytes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support import SRC, Namespace, start_holder, stop_holder
from watching import Stream, about, loopback_listener

KEYS = ["event", "time", "listener", "before", "traffic", "note"]


def test_ndjson_reaches_a_reader_process_as_it_happens(hold) -> None:
    stream = Stream("--json", "--interval", "0.2", "--no-traffic", reader=True)
    try:
        stream.live(loopback_listener)
        held = hold("tcp:127.0.0.1:0", "udp:[::1]:0")
        tcp, udp = held.ports
        wanted = {f"read opened tcp 127.0.0.1:{tcp}", f"read opened udp ::1:{udp}"}  # one sample: in port order
        while wanted:
            wanted.discard(stream.expect(lambda line: line in wanted))
        held.proc.kill()
        held.proc.wait(10)
        stream.expect(lambda line: line == f"read closed tcp 127.0.0.1:{tcp}")
        assert stream.watch.poll() is None  # lines came through the pipe while the watch runs: flushed each time
    finally:
        stream.stop()


def test_every_line_is_one_event_with_every_key(hold) -> None:
    stream = Stream("--json", "--interval", "0.2", "--tcp")
    try:
        stream.live(loopback_listener)
        held = hold("tcp:127.0.0.1:0", fork=True)
        opened = stream.expect_event("opened", held.port)
        assert list(opened) == KEYS and opened["before"] is None and opened["traffic"] is None
        assert sorted(p["pid"] for p in opened["listener"]["processes"]) == sorted([held.pid, held.child])
        assert opened["listener"]["exposure"] == "loopback"
        assert abs(opened["time"] - time.time()) < 10
        os.kill(held.child, 9)  # one of the two owners goes: the listener stays, its owners change
        changed = stream.expect_event("owner-changed", held.port)
        assert [p["pid"] for p in changed["before"]["processes"]] == sorted([held.pid, held.child])
        assert [p["pid"] for p in changed["listener"]["processes"]] == [held.pid]
        for line in stream.seen:
            assert list(json.loads(line)) == KEYS
    finally:
        stream.stop()


REBIND = """
import socket, sys
port = int(sys.argv[1])
server = socket.create_server(("127.0.0.1", port))
print("loopback", flush=True)
sys.stdin.readline()
server.close()
server = socket.create_server(("0.0.0.0", port))
print("wide", flush=True)
sys.stdin.readline()
"""


def test_a_restart_on_every_address_is_one_exposure_change(netns: Namespace) -> None:
    """In a namespace of the test's own (only its address and lo): a service leaves 127.0.0.1 for 0.0.0.0."""
    prefix = ["ip", "netns", "exec", netns.name]
    everything = Stream("--json", "--interval", "0.2", "--no-traffic", prefix=prefix)
    wide_only = Stream("--json", "--interval", "0.2", "--no-traffic", "--exposed", prefix=prefix)
    everything.live(lambda: _held(prefix))
    wide_only.live(lambda: _held(prefix, "tcp:0.0.0.0:0"))
    service = subprocess.Popen([*prefix, sys.executable, "-c", REBIND, "8080"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert service.stdin is not None and service.stdout is not None
    try:
        assert service.stdout.readline() == "loopback\n"
        everything.expect_event("opened", 8080, timeout=30)
        time.sleep(1.0)  # the --exposed watch has surely sampled the loopback listener by now
        service.stdin.write("\n")
        service.stdin.flush()
        assert service.stdout.readline() == "wide\n"
        changed = everything.expect_event("exposure-changed", 8080)
        assert changed["before"]["address"] == "127.0.0.1" and changed["before"]["exposure"] == "loopback"
        assert changed["listener"]["address"] == "0.0.0.0" and changed["listener"]["exposure"] == "all"
        assert netns.address in changed["listener"]["reachable_on"]
        assert [p["pid"] for p in changed["listener"]["processes"]] == [service.pid]
        assert changed["time"] == pytest.approx(time.time(), abs=10)
        seen_wide = wide_only.expect_event("exposure-changed", 8080)
        assert seen_wide["listener"]["exposure"] == "all"
        assert not [line for line in wide_only.seen if '"opened"' in line and '"port":8080' in line]
    finally:
        service.kill()
        service.wait(10)
        everything.stop()
        wide_only.stop()


def _held(prefix: list[str], spec: str = "tcp:127.0.0.1:0") -> tuple[int, Callable[[], None]]:
    held = start_holder([spec], prefix=prefix)
    return held.port, lambda: stop_holder(held)


def test_traffic_events_count_the_bytes_sent() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stream = Stream("--json", "--interval", "0.3", "--tcp")
    try:
        stream.live(loopback_listener)
        client = socket.create_connection(("127.0.0.1", port))
        peer, _ = server.accept()
        sender = threading.Thread(target=lambda: (client.sendall(b"x" * 10_000_000), client.close()))
        sender.start()
        received = 0
        while chunk := peer.recv(1 << 20):
            received += len(chunk)
        sender.join()
        peer.close()
        assert received == 10_000_000
        total_in, total_out = 0, 0
        while True:
            event = stream.expect_event("traffic", port)
            total_in += event["traffic"]["bytes_in"]
            total_out += event["traffic"]["bytes_out"]
            if total_in >= 10_000_000 and event["traffic"]["connections"] == 0:
                break
        # The kernel counts each FIN as a byte: the client's comes in, the server's goes out.
        assert total_in in (10_000_000, 10_000_001) and total_out in (0, 1)
        assert all(json.loads(line)["traffic"]["rate_in"] >= 0 for line in stream.seen if '"traffic":{' in line)
    finally:
        server.close()
        stream.stop()


def churn_until_done(stream: Stream, prefix: list[str]) -> list[int]:
    """Open and close listeners in the namespace until the watch ends (its --count reached); their ports."""
    ports = []
    for _ in range(40):
        if stream.watch.poll() is not None:
            return ports
        port, close = _held(prefix)
        ports.append(port)
        time.sleep(0.5)
        close()
        time.sleep(0.5)
    raise AssertionError("the watch did not end")


def test_exec_runs_per_event_reports_failures_and_the_watch_goes_on(netns: Namespace, tmp_path: Path) -> None:
    """In a namespace of its own, so the two events --count waits for are the test's."""
    prefix = ["ip", "netns", "exec", netns.name]
    command = f'cat > {tmp_path}/"$PORTSIDE_EVENT-$PORTSIDE_PORT.json"; echo "pids: $PORTSIDE_PIDS" >&2; exit 3'
    stream = Stream("--json", "--interval", "0.2", "--no-traffic", "--exec", command, "--count", "2", prefix=prefix)
    try:
        churn_until_done(stream, prefix)
        assert stream.watch.wait(30) == 0  # the failing commands did not end it: --count 2 did
        stderr = stream.stderr()
        failures = re.findall(rf"portside: --exec: `{re.escape(command)}` exited with status 3 for (\w+) tcp "
                              rf"127\.0\.0\.1:(\d+)", stderr)
        assert len(failures) == 2, stderr
        (opened,) = [int(port) for kind, port in failures if kind == "opened"]
        written = json.loads((tmp_path / f"opened-{opened}.json").read_text())  # the event came on stdin
        assert written["event"] == "opened" and written["listener"]["port"] == opened
        (pid,) = [p["pid"] for p in written["listener"]["processes"]]
        assert f"pids: {pid}\n" in stderr  # and in the environment
        printed = [json.loads(line) for line in stream.rest()]
        assert [(e["event"], e["listener"]["port"]) for e in printed if e["event"] != "note"] == [
            (kind, int(port)) for kind, port in failures]
    finally:
        stream.stop()


def test_exec_that_hangs_is_killed_after_its_timeout(netns: Namespace, tmp_path: Path) -> None:
    prefix = ["ip", "netns", "exec", netns.name]
    marker = tmp_path / "pids"
    command = f"echo $$ >> {marker}; exec sleep 60"
    stream = Stream("--json", "--interval", "0.2", "--no-traffic", "--exec", command, "--exec-timeout", "300ms",
                    "--count", "1", prefix=prefix)
    try:
        churn_until_done(stream, prefix)
        assert stream.watch.wait(30) == 0
        assert f"portside: --exec: `{command}` took longer than 0.3s for " in stream.stderr()
        (pid,) = [int(line) for line in marker.read_text().split()]
        assert not Path(f"/proc/{pid}").exists()  # killed and reaped: nothing left behind
    finally:
        stream.stop()


def test_piped_without_json_prints_a_line_per_event() -> None:
    stream = Stream("--interval", "0.2", "--tcp", "--no-traffic")
    try:
        stream.live(loopback_listener)
        port, close = loopback_listener()
        opened = stream.expect(lambda line: about(line, "opened", port))
        close()
        closed = stream.expect(lambda line: about(line, "closed", port))
        pid = os.getpid()
        assert re.fullmatch(rf"\d\d:\d\d:\d\d opened tcp 127\.0\.0\.1:{port} loopback \S+ \({pid}\)", opened)
        assert re.fullmatch(rf"\d\d:\d\d:\d\d closed tcp 127\.0\.0\.1:{port} loopback \S+ \({pid}\)", closed)
    finally:
        stream.stop()


@pytest.mark.parametrize(("args", "message"), [
    (["--interval", "0"], "invalid --interval '0': it must be more than 0 seconds"),
    (["--count", "0"], "argument --count: '0' is not a count of events (a positive whole number)"),
    (["--exec", " "], "--exec needs a command"),
    (["--duration", "soon"], "invalid --duration 'soon': expected a number of seconds or e.g. 250ms, 30s, 10m, 2h"),
])
def test_bad_options_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "portside", "watch", "--json", *args], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": SRC}, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"portside: error: {message}\n")
