"""`watch --exec CMD`: run a shell command per event, one at a time, in bounded time, never stopping the watch.

Events queue up (at most `backlog`; more are skipped and counted) and a worker thread runs the
command for each with `/bin/sh -c`, the event's JSON on stdin and its fields in the environment
(`environment`). A command that outlives `timeout` is killed with its whole process group (it
runs in a session of its own); one that fails, or cannot start, is reported through `report`
with what it was run for. The watch never waits for a command, and a command never ends it.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping

from portside.monitor.events import Event

BACKLOG = 1000


def environment(event: Event, line: str) -> dict[str, str]:
    """The PORTSIDE_* variables a command sees for `event` (whose JSON text is `line`)."""
    found = {"PORTSIDE_EVENT": event.kind.value, "PORTSIDE_TIME": f"{event.time:.6f}", "PORTSIDE_JSON": line}
    item = event.listener
    if item is not None:
        found.update({
            "PORTSIDE_PROTOCOL": item.protocol.value,
            "PORTSIDE_ADDRESS": item.address,
            "PORTSIDE_PORT": str(item.port),
            "PORTSIDE_EXPOSURE": item.exposure.value,
            "PORTSIDE_PIDS": " ".join(str(info.pid) for info in item.processes),
            "PORTSIDE_PROCESSES": " ".join(info.name for info in item.processes),
        })
    if event.note is not None:
        found["PORTSIDE_NOTE"] = event.note
    return found


class Hook:
    """Runs `command` for each submitted event on a worker thread; `close()` waits for the queue.

    The command's stdout goes to the file descriptor `output` (None: this process's stdout).
    """

    def __init__(
        self,
        command: str,
        *,
        timeout: float,
        report: Callable[[str], None],
        output: int | None = None,
        environ: Mapping[str, str] | None = None,
        backlog: int = BACKLOG,
    ) -> None:
        self.command = command
        self.timeout = timeout
        self.report = report
        self.output = output
        self.environ = dict(os.environ if environ is None else environ)
        self.pending: queue.Queue[tuple[Event, str, str] | None] = queue.Queue(backlog)
        self.skipped = 0
        self.running: subprocess.Popen[str] | None = None
        self.worker = threading.Thread(target=self._work, name="portside-exec", daemon=True)
        self.worker.start()

    def submit(self, event: Event, line: str, what: str) -> None:
        """Queue a run for `event` (`line`: its JSON; `what`: how reports name it); skipped when the queue is full."""
        try:
            self.pending.put_nowait((event, line, what))
        except queue.Full:
            self.skipped += 1
            if self.skipped == 1:
                self.report(f"--exec: events come faster than `{self.command}` runs; skipping some "
                            f"(more than {self.pending.maxsize} waiting)")

    def close(self, wait: bool = True) -> None:
        """With `wait`, run what is queued first (each run still bounded); else stop the running command now."""
        if not wait:
            self._stop_running()
            while True:
                try:
                    self.pending.get_nowait()
                except queue.Empty:
                    break
        self.pending.put(None)
        self.worker.join(None if wait else self.timeout)
        if self.skipped:
            self.report(f"--exec: {self.skipped} event{'s' if self.skipped > 1 else ''} skipped")

    def _work(self) -> None:
        while (item := self.pending.get()) is not None:
            self._run(*item)

    def _run(self, event: Event, line: str, what: str) -> None:
        try:
            proc = subprocess.Popen(["/bin/sh", "-c", self.command], stdin=subprocess.PIPE, stdout=self.output,
                                    env={**self.environ, **environment(event, line)}, text=True,
                                    start_new_session=True)
        except OSError as error:
            self.report(f"--exec: cannot run `{self.command}` for {what}: {error.strerror or error}")
            return
        self.running = proc
        try:
            proc.communicate(line + "\n", timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self._stop_running()
            proc.wait()
            self.report(f"--exec: `{self.command}` took longer than {self.timeout:g}s for {what}: killed")
            return
        finally:
            self.running = None
        if proc.returncode != 0:
            how = (f"was killed by signal {-proc.returncode}" if proc.returncode < 0
                   else f"exited with status {proc.returncode}")
            self.report(f"--exec: `{self.command}` {how} for {what}")

    def _stop_running(self) -> None:
        proc = self.running
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session, started here: the command and its children
            except ProcessLookupError:
                pass
