"""The watcher against the kernel: traffic figures for 10 MB the test really sends, and the owner walk that
remembers between samples agreeing with a whole inventory."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time

import pytest
from support import SRC

import portside
from portside.inventory import follow
from portside.inventory._tracker import FULL_LONGEST, FULL_SHARE, OwnerTracker
from portside.model import Family, Protocol
from portside.monitor.events import EventKind, Traffic
from portside.monitor.watcher import Watcher

MB10 = 10_000_000


def drain(sock: socket.socket, counted: list[int]) -> threading.Thread:
    """Read `sock` to its end in a thread, adding up the bytes in counted[0]."""
    def read() -> None:
        while chunk := sock.recv(1 << 20):
            counted[0] += len(chunk)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def traffic_of(watcher: Watcher, port: int) -> Traffic:
    tick = watcher.step()
    (figures,) = [value for key, value in tick.traffic.items() if key[3] == port]
    return figures


def pair(server: socket.socket) -> tuple[socket.socket, socket.socket]:
    client = socket.create_connection(server.getsockname()[:2])
    peer, _ = server.accept()
    return client, peer


def test_ten_megabytes_in_over_several_samples() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        watcher = Watcher(protocols=(Protocol.TCP,))
        try:
            watcher.step()
            client, peer = pair(server)
            got = [0]
            reader = drain(peer, got)
            seen = []
            for _ in range(10):
                client.sendall(b"x" * 1_000_000)
                seen.append(traffic_of(watcher, port))
            deadline = time.monotonic() + 10
            while got[0] < MB10 and time.monotonic() < deadline:
                time.sleep(0.01)
            seen.append(traffic_of(watcher, port))
            assert sum(item.bytes_in for item in seen) == MB10  # the connection is open: no FIN counted yet
            assert {item.connections for item in seen} == {1}
            assert sum(item.bytes_out for item in seen) == 0
            assert all(item.seconds > 0 for item in seen)
            client.close()
            reader.join(10)
            peer.close()
        finally:
            watcher.close()


def test_ten_megabytes_out_once_the_client_acknowledged_them() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        watcher = Watcher(protocols=(Protocol.TCP,))
        try:
            watcher.step()
            client, peer = pair(server)
            got = [0]
            reader = drain(client, got)
            peer.sendall(b"y" * MB10)
            total, deadline = 0, time.monotonic() + 10
            while total < MB10 and time.monotonic() < deadline:
                total += traffic_of(watcher, port).bytes_out
                time.sleep(0.05)
            assert total == MB10 and got[0] == MB10
            peer.close()
            reader.join(10)
            client.close()
        finally:
            watcher.close()


def test_a_connection_that_closes_between_two_samples_still_counts() -> None:
    """Opened, used and closed between two samples: only the kernel's close notices carry its bytes."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        watcher = Watcher(protocols=(Protocol.TCP,))
        try:
            watcher.step()
            client, peer = pair(server)
            got = [0]
            reader = drain(peer, got)
            client.sendall(b"z" * MB10)
            client.close()
            reader.join(10)
            peer.close()
            # The kernel sends its close notice from a work queue: it may reach a sample or two later.
            seen, deadline = [traffic_of(watcher, port)], time.monotonic() + 5
            while sum(item.bytes_in for item in seen) < MB10 and time.monotonic() < deadline:
                time.sleep(0.02)
                seen.append(traffic_of(watcher, port))
            assert got[0] == MB10
            assert {item.connections for item in seen} == {0}
            assert sum(item.bytes_in for item in seen) in (MB10, MB10 + 1)  # the client's FIN counts as a byte
        finally:
            watcher.close()


def test_without_close_notices_the_last_bytes_are_missed() -> None:
    """What docs/json.md says is missed when the notices are not received."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        watcher = Watcher(protocols=(Protocol.TCP,))
        watcher.close()  # ends the subscription to close notices, as when the kernel refuses it
        watcher.step()
        client, peer = pair(server)
        got = [0]
        reader = drain(peer, got)
        client.sendall(b"a" * 1_000_000)
        while got[0] < 1_000_000:
            time.sleep(0.01)
        first = traffic_of(watcher, port)
        client.sendall(b"b" * 1_000_000)
        client.close()
        reader.join(10)
        peer.close()
        assert first.bytes_in == 1_000_000
        assert traffic_of(watcher, port).bytes_in == 0  # the second megabyte went unseen


def test_events_of_one_sample() -> None:
    watcher = Watcher(protocols=(Protocol.TCP,), traffic=False)
    try:
        watcher.step()
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = server.getsockname()[1]
            tick = watcher.step()
            (opened,) = [event for event in tick.events if event.listener and event.listener.port == port]
            assert opened.kind is EventKind.OPENED and opened.time == tick.time
            assert tick.traffic == {}
        tick = watcher.step()
        assert [event.kind for event in tick.events if event.listener and event.listener.port == port] == [
            EventKind.CLOSED]
    finally:
        watcher.close()


def test_the_remembering_owner_walk_agrees_with_a_whole_inventory(hold) -> None:
    take = follow((Protocol.TCP,))
    take()
    held = hold("tcp:127.0.0.1:0", "tcp:[::1]:0", fork=True)
    mine = set(zip(("127.0.0.1", "::1"), held.ports, strict=True))

    def owners(inventory: portside.Inventory) -> dict[tuple[str, int], list[int]]:
        return {(item.address, item.port): [p.pid for p in item.processes] for item in inventory.listeners
                if (item.address, item.port) in mine}

    followed = owners(take())
    assert followed == owners(portside.take_inventory(protocols=(Protocol.TCP,)))
    assert list(followed.values()) == [sorted([held.pid, held.child])] * 2
    os.kill(held.child, 9)  # a zombie until the holder reaps it: no fds, so no owner
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(held.child in pids for pids in owners(take()).values()):
        time.sleep(0.05)
    assert list(owners(take()).values()) == [[held.pid]] * 2


def test_a_new_listener_on_a_reused_fd_number_is_found_at_once() -> None:
    """The fd count stays the same and the fd name is known: the unknown owner forces a whole walk."""
    take = follow((Protocol.TCP,))
    placeholder = socket.socket()
    take()
    number = placeholder.fileno()
    placeholder.close()
    server = socket.socket()
    try:
        assert server.fileno() == number
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        (mine,) = [item for item in take().listeners if item.port == port]
        assert [p.pid for p in mine.processes] == [os.getpid()]
    finally:
        server.close()


SYSTEM_PYTHON = "/usr/bin/python3"
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.mark.root
@pytest.mark.skipif(shutil.which("setpriv") is None or not os.access(SYSTEM_PYTHON, os.X_OK),
                    reason="needs setpriv (util-linux) and /usr/bin/python3 to run as nobody")
def test_a_user_without_root_is_told_what_is_hidden() -> None:
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "PORTSIDE_BACKEND": "linux"}
    result = subprocess.run([*AS_NOBODY, SYSTEM_PYTHON, "-m", "portside", "watch", "--json", "--duration", "1",
                             "--interval", "0.2"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    notes = [line for line in result.stdout.splitlines() if line.startswith('{"event":"note"')]
    assert any("could not read the open files" in note and "run as root" in note for note in notes), notes


@pytest.mark.parametrize("others", [0, 999, 4000], ids=["one port", "1,000 ports", "too many for a filter"])
def test_the_kernel_sends_the_server_ends_of_the_ports_asked_for(others: int) -> None:
    """The dump's port filter (and past its size, the decoder's) keeps the listener's side of each connection."""
    from portside.inventory import tcp_flows

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        client, peer = pair(server)
        with client, peer:
            wanted = {port, *range(1, others + 1)} if others < 4000 else {port, *range(20000, 20000 + others)}
            found = [flow for flow in tcp_flows({Family.IPV4: wanted})
                     if flow.port == port or flow.port == client.getsockname()[1]]
            assert [(flow.address, flow.port, flow.state) for flow in found] == [("127.0.0.1", port, "established")]


def test_a_dear_full_walk_comes_less_often() -> None:
    """Full walks at least `full_every` apart, further apart when one took more than FULL_SHARE of that, and never
    more than FULL_LONGEST apart."""
    times = iter([0.0, 0.05, 20.0, 40.0, 40.01, 100.0, 700.0])
    tracker = OwnerTracker(full_every=10.0, clock=lambda: next(times))
    tracker.walk(set())  # a full walk that took 50 ms
    assert tracker.next_full == 0.05 + 0.05 / FULL_SHARE
    tracker.walk(set())  # at 20 s: a cheap pass
    assert tracker.next_full == 0.05 + 0.05 / FULL_SHARE
    tracker.walk(set())  # at 40 s: a full walk of 10 ms, so the next in 10 s
    assert tracker.next_full == 40.01 + 10.0
    tracker.walk(set())  # at 100 s: a full walk stopped for 10 minutes; the next still comes within FULL_LONGEST
    assert tracker.next_full == 700.0 + FULL_LONGEST
