"""Helpers of the `watch` scenarios: a running `portside watch` whose output lines a thread gathers.

`Stream` starts the command (optionally behind a prefix such as `ip netns exec NAME`, or piped
into a reader process), `expect` waits for a line that satisfies a test, `live` makes sure the
watch took its baseline before the test changes anything, and `stop` ends it by the pid started.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from support import SRC

Json = dict[str, Any]
READER = """
import json, sys
for line in sys.stdin:
    event = json.loads(line)
    listener = event["listener"] or {}
    print(f"read {event['event']} {listener.get('protocol')} {listener.get('address')}:{listener.get('port')}",
          flush=True)
"""


def portside_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "portside", "watch", *args]


class Stream:
    """`portside watch ARGS` running, stdout lines queued as they come, stderr kept."""

    def __init__(self, *args: str, prefix: list[str] | None = None, reader: bool = False,
                 env: dict[str, str] | None = None) -> None:
        environ = {**os.environ, "PYTHONPATH": SRC, **(env or {})}
        self.watch = subprocess.Popen([*(prefix or []), *portside_command(*args)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=environ, start_new_session=True)
        assert self.watch.stdout is not None
        self.reader: subprocess.Popen[str] | None = None
        source = self.watch.stdout
        if reader:
            self.reader = subprocess.Popen([sys.executable, "-c", READER], stdin=self.watch.stdout,
                                           stdout=subprocess.PIPE, text=True)
            self.watch.stdout.close()  # the reader holds the pipe now
            assert self.reader.stdout is not None
            source = self.reader.stdout
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._gather, args=(source,), daemon=True).start()

    def _gather(self, source: Any) -> None:
        for line in source:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, test: Callable[[str], bool], timeout: float = 15.0) -> str:
        """The first line from now on that passes `test` (earlier lines are kept in `seen`)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no such line within {timeout:g}s; seen: {self.seen[-20:]}") from None
            if line is None:
                raise AssertionError(f"the stream ended; seen: {self.seen[-20:]}; stderr: {self.stderr()}")
            self.seen.append(line)
            if test(line):
                return line

    def rest(self, timeout: float = 15.0) -> list[str]:
        """Every line not yet taken, up to the end of the stream."""
        found = []
        while (line := self.lines.get(timeout=timeout)) is not None:
            found.append(line)
        return found

    def expect_event(self, kind: str, port: int, timeout: float = 15.0) -> Json:
        """The next JSON event of `kind` about a listener on `port`."""
        found: Json = json.loads(self.expect(lambda line: about(line, kind, port), timeout))
        return found

    def live(self, open_listener: Callable[[], tuple[int, Callable[[], None]]], timeout: float = 30.0) -> None:
        """Return once the watch reports a listener opened after its baseline (and then its close)."""
        deadline = time.monotonic() + timeout
        while True:
            port, close = open_listener()
            try:
                self.expect(lambda line, port=port: about(line, "opened", port), timeout=3.0)
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                continue  # it was in the baseline: try a new one
            finally:
                close()
            self.expect(lambda line, port=port: about(line, "closed", port))
            return

    def stop(self) -> None:
        for proc in (self.watch, self.reader):
            if proc is not None and proc.poll() is None:
                os.killpg(self.watch.pid, signal.SIGKILL) if proc is self.watch else proc.kill()
            if proc is not None:
                proc.wait(10)

    def stderr(self) -> str:
        if self.watch.poll() is None:
            return "(still running)"
        assert self.watch.stderr is not None
        return self.watch.stderr.read()


def about(line: str, kind: str, port: int) -> bool:
    """Whether a line of the stream (JSON, or plain text) is a `kind` event of a listener on `port`."""
    if line.startswith("{"):
        event = json.loads(line)
        return bool(event["event"] == kind and event["listener"] and event["listener"]["port"] == port)
    return f" {kind} " in line and (f":{port} " in line or line.endswith(f":{port}"))


def loopback_listener() -> tuple[int, Callable[[], None]]:
    """A TCP listener of this process on 127.0.0.1, and how to close it."""
    server = socket.create_server(("127.0.0.1", 0))
    return server.getsockname()[1], server.close
