"""The last lines of a `run` command's stdout and stderr, kept bounded in a file the dashboard reads.

`run` used to hand its own stdout and stderr to the command. With `keep` it gives the command
pipes instead: a `Tee` passes every byte on to run's own stdout or stderr unchanged, as before,
and keeps the last LINES lines (at most SIZE bytes, a line cut at LINE_SIZE) of each stream in
a `Ring`. A writer thread puts the ring into a file under the state dir at most every FLUSH
seconds (a new file made O_EXCL|O_NOFOLLOW, mode 0600, renamed over the old), so a slow reader
never holds the command up and the file never grows past twice SIZE. What changes: the command
sees pipes, not the terminal (tools that colour only on a terminal print plain text).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from pathlib import Path

from portside._typing import NamedTuple

LINES = 200
SIZE = 64 * 1024
LINE_SIZE = 4096
FLUSH = 0.25
STREAMS = ("stdout", "stderr")


class Line(NamedTuple):
    """One line of output: its place in arrival order, the stream it came on, its text (without the newline)."""

    seq: int
    stream: str
    text: str


class Ring:
    """The last lines of each stream, bounded in count and bytes; a line not yet ended is shown as it stands. Pure."""

    def __init__(self, lines: int = LINES, size: int = SIZE) -> None:
        self.limit, self.size = lines, size
        self.kept: dict[str, deque[Line]] = {name: deque() for name in STREAMS}
        self.bytes = dict.fromkeys(STREAMS, 0)
        self.partial = dict.fromkeys(STREAMS, b"")
        self.seq = 0

    def add(self, stream: str, chunk: bytes) -> None:
        """Take `chunk` of `stream`'s bytes: complete lines are kept, the rest waits for its newline."""
        pending = self.partial[stream] + chunk
        *complete, rest = pending.split(b"\n")
        for raw in complete:
            self._keep(stream, raw)
        self.partial[stream] = rest[:LINE_SIZE]

    def _keep(self, stream: str, raw: bytes) -> None:
        text = raw[:LINE_SIZE].decode("utf-8", "replace").rstrip("\r")
        self.seq += 1
        kept = self.kept[stream]
        kept.append(Line(self.seq, stream, text))
        self.bytes[stream] += len(text)
        while len(kept) > self.limit or self.bytes[stream] > self.size:
            self.bytes[stream] -= len(kept.popleft().text)

    def lines(self) -> list[Line]:
        """Both streams' kept lines in arrival order, then any unfinished line of each."""
        merged = sorted([*self.kept["stdout"], *self.kept["stderr"]])
        tail = [Line(self.seq + 1 + index, stream, self.partial[stream].decode("utf-8", "replace"))
                for index, stream in enumerate(STREAMS) if self.partial[stream]]
        return merged + tail


def document(pid: int, command: list[str], ring: Ring) -> bytes:
    """The file's content: JSON with the run's pid, the command and its lines ([stream, text] pairs)."""
    return json.dumps({"pid": pid, "command": command, "updated": time.time(),
                       "lines": [[line.stream, line.text] for line in ring.lines()]}).encode()


def output_path(name: str, pid: int, *, make: bool = False) -> Path:
    """Where run `pid` keeps the output of the command it serves as `name`: STATE_DIR/runs/NAME.PID.json
    (with `make`, the runs directory is made, 0700, and refused when it is not the caller's alone)."""
    from portside.leasing.statefiles import check_owner
    from portside.leasing.store import state_dir

    directory = state_dir() / "runs"
    if make:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        check_owner(directory)
    return directory / f"{name}.{pid}.json"


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: a fresh file (O_EXCL, O_NOFOLLOW, 0600) renamed over it, never written through."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(partial, path)


class Tee:
    """Pass a command's output through to `targets` (fds) and keep its last lines in the file at `path`."""

    def __init__(self, path: Path, command: list[str], sources: tuple[int, int],
                 targets: tuple[int, int] = (1, 2)) -> None:
        self.path, self.command = path, command
        self.finished = False
        self.ring = Ring()
        self.lock = threading.Lock()
        self.changed = threading.Event()
        self.open = len(STREAMS)
        self.readers = [threading.Thread(target=self._pump, args=(stream, source, target), daemon=True)
                        for stream, source, target in zip(STREAMS, sources, targets, strict=True)]
        self.writer = threading.Thread(target=self._write_loop, daemon=True)
        self._write()
        for thread in (*self.readers, self.writer):
            thread.start()

    def _pump(self, stream: str, source: int, target: int) -> None:
        passing = True
        try:
            while chunk := os.read(source, 65536):
                if passing:
                    passing = _write_all(target, chunk)
                with self.lock:
                    self.ring.add(stream, chunk)
                self.changed.set()
        except OSError:
            pass
        finally:
            os.close(source)
            with self.lock:
                self.open -= 1
            self.changed.set()

    def _write_loop(self) -> None:
        while True:
            self.changed.wait()
            with self.lock:
                done = self.open == 0
            self.changed.clear()
            self._write()
            if done:
                return
            time.sleep(FLUSH)

    def _write(self) -> None:
        with self.lock:
            if self.finished:
                return
            data = document(os.getpid(), self.command, self.ring)
        try:
            write_private(self.path, data)
        except OSError:
            pass  # the state dir went away or filled up: the command's output still reaches the terminal

    def finish(self, timeout: float = 2.0) -> None:
        """Wait (up to `timeout`) for the pipes to end and the last lines to be written, then remove the file."""
        deadline = time.monotonic() + timeout
        for thread in (*self.readers, self.writer):
            thread.join(max(0.0, deadline - time.monotonic()))
        with self.lock:
            self.finished = True
        try:
            self.path.unlink()
        except OSError:
            pass


def _write_all(fd: int, data: bytes) -> bool:
    """Write all of `data` to `fd`; False once the fd is gone (run's own output closed): keep reading, stop passing."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        return False
    return True
