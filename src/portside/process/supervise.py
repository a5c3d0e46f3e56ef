"""Run a service on an assigned port, wait until it answers, and stop it with all it started.

The command runs in a session of its own with `PORT` (and `HOST=127.0.0.1`) in its
environment, and `{port}` in its arguments replaced by the port. Stopping signals it and
every process under it through checked pidfds, then SIGKILLs what outlives a grace period
(tree.py). With `die_with_parent` (what `portside run` uses) the command runs under
guard.py, a child subreaper: what daemonises (forks twice, calls setsid) stays under it, and
when the command exits the guard says, through a pipe, with what status and which processes
it left alive. Without the guard, processes that leave the tree (re-parented to init) are
beyond reach.
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
from pathlib import Path

from portside._poll import readable
from portside._typing import NamedTuple
from portside.errors import ServiceFailed, WaitTimeout
from portside.inventory import inventory, process_info
from portside.leasing.allocate import bindable
from portside.model import ProcessInfo, Protocol
from portside.net.addresses import Target
from portside.probing.wait import HttpExpectation, describe, wait_for
from portside.process import guard, signals
from portside.process.output import Tee
from portside.process.tree import stop_tree

POLL = 0.1
PR_SET_PDEATHSIG = 1


class LeftBehind(NamedTuple):
    """A process still alive under the guard when the command itself exited, and the TCP ports it listened on."""

    process: ProcessInfo
    ports: tuple[int, ...]


class Ending(NamedTuple):
    """How a service ended: its status (shell-style), what its command left running (stopped since), and whether
    its port is still held after the stop, by whom (`holders` is empty when the holder is hidden from this user)."""

    status: int
    left: tuple[LeftBehind, ...] = ()
    port_held: bool = False
    holders: tuple[ProcessInfo, ...] = ()


def _parent_death_signal() -> Callable[[], None]:
    """A function for the child to run before exec: SIGTERM when the parent dies (prctl, resolved here, not there)."""
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _shell_status(status: int) -> int:
    """A Popen status (negative: killed by that signal) as a shell reports it (128 + the signal)."""
    return status if status >= 0 else 128 - status


def _left_behind(pids: tuple[int, ...]) -> tuple[LeftBehind, ...]:
    """The processes `pids` that are still alive, each with the TCP ports it listens on."""
    infos = [info for info in map(process_info, pids) if info is not None]
    if not infos:
        return ()
    listeners = inventory(protocols=(Protocol.TCP,)).listeners
    return tuple(
        LeftBehind(info, tuple(sorted({item.port for item in listeners if info.pid in {p.pid for p in item.processes}})))
        for info in infos
    )


def _holders(port: int) -> tuple[bool, tuple[ProcessInfo, ...]]:
    """Whether a TCP listener holds `port`, and its owners as far as this user may see them."""
    if bindable(port):
        return False, ()
    held = [item for item in inventory(protocols=(Protocol.TCP,)).listeners if item.port == port]
    return bool(held), tuple({info.pid: info for item in held for info in item.processes}.values())


class Service:
    """A started command, the port it was given, and how to stop it.

    `report` is the read end of the guard's pipe (None without a guard).
    """

    def __init__(self, process: subprocess.Popen[bytes], port: int, host: str, report: int | None = None,
                 tee: Tee | None = None) -> None:
        self.process = process
        self.port = port
        self.host = host
        self._report = report
        self._tee = tee

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, grace: float = 5.0) -> int:
        """SIGTERM the service and all it started, SIGKILL what outlives `grace`; the exit status, Popen-style."""
        if self.process.returncode is None:  # not reaped: its pid still names it
            if self._report is not None:  # the guard stops everything under it, taking up to 2 GRACE
                self.process.send_signal(signal.SIGTERM)
                with suppress(subprocess.TimeoutExpired):
                    self.process.wait(2 * guard.GRACE + grace)
            if self.process.returncode is None:
                stop_tree(self.process.pid, grace, with_root=True)
                with suppress(ProcessLookupError, PermissionError):  # what left the tree but not its group
                    os.killpg(self.process.pid, signal.SIGTERM)
        try:
            status = self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        if self._report is not None:
            os.close(self._report)
            self._report = None
        if self._tee is not None:
            self._tee.finish()
            self._tee = None
        return status

    def _command_ended(self, timeout: float) -> tuple[int, tuple[int, ...]] | None:
        """Within `timeout`: the command's status and the pids it left alive, once it has exited; else None."""
        if self._report is None:
            with suppress(subprocess.TimeoutExpired):
                return self.process.wait(timeout), ()
            return None
        if not readable(self._report, timeout):
            return None
        line = os.read(self._report, 4096).split()
        if not line:  # the guard has exited, and with it all the command started
            return self.process.wait(), ()
        status, *left = map(int, line)
        return status, tuple(left)

    def wait_or_stop(self, stop_on: tuple[int, ...]) -> Ending:
        """Wait for the service; when one of `stop_on` arrives, stop it and all it started. How it ended.

        A command that exits leaving processes alive (it daemonised) ends the service too: those
        are named, with their ports, in the Ending, and stopped.
        """
        received: list[int] = []
        previous = {signum: signal.signal(signum, lambda signum, _: received.append(signum)) for signum in stop_on}
        try:
            while not received:
                ended = self._command_ended(POLL)
                if ended is not None:
                    status, pids = ended
                    left = _left_behind(pids)
                    self.stop(grace=2.0)
                    return Ending(_shell_status(status), left, *_holders(self.port))
            self.stop()
            return Ending(128 + received[0], (), *_holders(self.port))
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
    keep_output: Path | None = None,
) -> Service:
    """Start `command` with PORT=`port`; return once it accepts on localhost (and answers `http`).

    With `die_with_parent` the command runs under portside.process.guard, which gets SIGTERM from the
    kernel when this process dies, even by SIGKILL (Linux), and stops all the command started. With
    `keep_output` its stdout and stderr still reach this process's, and their last lines are kept in
    that file (output.py) until the service stops.
    """
    signals.require_pidfd()
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if not argv:
        raise ServiceFailed("empty command")
    argv = [arg.replace("{port}", str(port)) for arg in argv]
    report, report_end = os.pipe() if die_with_parent else (None, None)
    spawned = argv
    if report_end is not None:
        spawned = [sys.executable, "-m", "portside.process.guard", str(os.getpid()), str(report_end), "--", *argv]
    environment = {**os.environ, **(env or {}), "PORT": str(port), "HOST": "127.0.0.1"}
    piped = subprocess.PIPE if keep_output is not None else None
    try:
        # The child only calls the already-resolved prctl before exec: no lock another thread could hold.
        process = subprocess.Popen(spawned, env=environment, cwd=cwd, start_new_session=True,
                                   pass_fds=() if report_end is None else (report_end,), stdout=piped, stderr=piped,
                                   preexec_fn=_parent_death_signal() if die_with_parent else None)  # noqa: PLW1509
    except OSError as error:
        if report is not None:
            os.close(report)
        raise ServiceFailed(f"cannot start {argv[0]!r}: {error.strerror}") from None
    finally:
        if report_end is not None:
            os.close(report_end)
    tee = None
    if keep_output is not None:
        assert process.stdout is not None and process.stderr is not None
        sources = (os.dup(process.stdout.fileno()), os.dup(process.stderr.fileno()))  # the Tee reads and closes these
        process.stdout.close()
        process.stderr.close()
        process.stdout = process.stderr = None
        tee = Tee(keep_output, argv, sources)
    service = Service(process, port, "127.0.0.1", report, tee)
    target = Target(port, "localhost", "http", path)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        (waited,) = wait_for([(f"localhost:{port}", target)], timeout=max(0.0, min(POLL, left)), http=http)
        if waited.ready:
            return service
        status = process.poll()
        if status is not None:
            service.stop()
            raise ServiceFailed(f"{shlex.join(argv)} exited with status {status} before answering on port {port}")
        if left <= 0:
            service.stop()
            raise WaitTimeout(f"{shlex.join(argv)} did not answer on port {port} within {timeout:g} s "
                              f"({describe(waited)}); stopped it")
