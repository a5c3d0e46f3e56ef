"""Run a service on an assigned port, wait until it answers, and stop it with all it started.

The command runs in a session of its own with `PORT` (and `HOST=127.0.0.1`) in its
environment, and `{port}` in its arguments replaced by the port. Stopping sends SIGTERM
to its process group and to every descendant found under it (children that moved to a
group of their own included), through checked pidfds, then SIGKILL after a grace period.
Processes that daemonise away from the tree (reparented to init) are beyond its reach.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress

from portside.errors import ServiceFailed, WaitTimeout
from portside.inventory import process_info, process_stats
from portside.net.addresses import Target
from portside.probing.wait import HttpExpectation, describe, wait_for
from portside.process import signals

POLL = 0.1


PR_SET_PDEATHSIG = 1


def _parent_death_signal() -> Callable[[], None]:
    """A function for the child to run before exec: SIGTERM when the parent dies (prctl, resolved here, not there)."""
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def descendants(root: int) -> list[int]:
    """Every live process under `root` (children, grandchildren, ...), found through /proc's ppid links."""
    children: dict[int, list[int]] = {}
    for pid, stat in process_stats().items():
        children.setdefault(stat.ppid, []).append(pid)
    found: list[int] = []
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child in children.get(pid, ()):
            found.append(child)
            frontier.append(child)
    return found


class Service:
    """A started command, the port it was given, and how to stop it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, host: str) -> None:
        self.process = process
        self.port = port
        self.host = host

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM the service and its descendants, SIGKILL what outlives `grace`; the exit status."""
        tree = [self.process.pid, *descendants(self.process.pid)]
        infos = [info for info in map(process_info, tree) if info is not None]
        handles = [handle for handle in map(signals.open_checked, infos) if handle is not None]
        try:
            for handle in handles:
                signals.send(handle, signal.SIGTERM)
            if self.process.poll() is None:
                try:
                    os.killpg(self.process.pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    pass
            alive = signals.wait_exited(handles, grace)
            for handle in alive:
                signals.send(handle, signal.SIGKILL)
            signals.wait_exited(alive, grace)
        finally:
            signals.close(handles)
        try:
            return self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def wait_or_stop(self, stop_on: tuple[int, ...]) -> int:
        """Wait for the service; when one of `stop_on` arrives, stop it and its children. The exit status, shell-style."""
        received: list[int] = []
        previous = {signum: signal.signal(signum, lambda signum, _: received.append(signum)) for signum in stop_on}
        try:
            while not received:
                with suppress(subprocess.TimeoutExpired):
                    status = self.process.wait(POLL)
                    self.stop(grace=2.0)
                    return status if status >= 0 else 128 - status
            self.stop()
            return 128 + received[0]
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def start_service(
    command: Sequence[str] | str,
    *,
    port: int,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    http: HttpExpectation | None = None,
    path: str = "/",
    timeout: float = 30.0,
    die_with_parent: bool = False,
) -> Service:
    """Start `command` with PORT=`port`; return once it accepts on localhost (and answers `http`).

    With `die_with_parent` the command runs under portside.process.guard, which gets SIGTERM from the
    kernel when this process dies, even by SIGKILL (Linux), and stops the command's whole group.
    """
    signals.require_pidfd()
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if not argv:
        raise ServiceFailed("empty command")
    argv = [arg.replace("{port}", str(port)) for arg in argv]
    spawned = [sys.executable, "-m", "portside.process.guard", str(os.getpid()), "--", *argv] if die_with_parent else argv
    environment = {**os.environ, **(env or {}), "PORT": str(port), "HOST": "127.0.0.1"}
    try:
        # The child only calls the already-resolved prctl before exec: no lock another thread could hold.
        process = subprocess.Popen(spawned, env=environment, cwd=cwd, start_new_session=True,
                                   preexec_fn=_parent_death_signal() if die_with_parent else None)  # noqa: PLW1509
    except OSError as error:
        raise ServiceFailed(f"cannot start {argv[0]!r}: {error.strerror}") from None
    service = Service(process, port, "127.0.0.1")
    target = Target(port, "localhost", "http", path)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        (waited,) = wait_for([(f"localhost:{port}", target)], timeout=max(0.0, min(POLL, left)), http=http)
        if waited.ready:
            return service
        status = process.poll()
        if status is not None:
            raise ServiceFailed(f"{shlex.join(argv)} exited with status {status} before answering on port {port}")
        if left <= 0:
            service.stop()
            raise WaitTimeout(f"{shlex.join(argv)} did not answer on port {port} within {timeout:g} s "
                              f"({describe(waited)}); stopped it")
