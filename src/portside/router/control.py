"""Start, find and stop the proxy: one per state directory, recorded in proxy.json beside the store.

`start` spawns `portside proxy serve` in a session of its own (started on demand by
`run`), under a lock so two `run`s never start two proxies; the proxy writes its record
(pid, start time, port) only once it listens, and removes it when it stops. A record
whose pid is dead or was reused is treated as absent. `stop` signals through a checked pidfd.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from portside._typing import NamedTuple
from portside.errors import ServiceFailed, UsageError
from portside.inventory import process_info
from portside.leasing.liveness import is_alive, start_token
from portside.leasing.statefiles import open_regular
from portside.leasing.store import open_store, state_dir
from portside.net.addresses import parse_port
from portside.process import signals
from portside.router.routing import url_of
from portside.router.tls.localca import ensure_ca

DEFAULT_PORT = 7355
RECORD = "proxy.json"
LOG = "proxy.log"
START_TIMEOUT = 10.0


class ProxyRecord(NamedTuple):
    pid: int
    start: int
    port: int
    hosts: tuple[str, ...]

    def url(self, name: str, https: bool = False) -> str:
        """Where this proxy serves `name`."""
        return url_of(name, self.port, "https" if https else "http")


def proxy_port() -> int:
    """`PORTSIDE_PROXY_PORT`, else 7355."""
    text = os.environ.get("PORTSIDE_PROXY_PORT", "").strip()
    if not text:
        return DEFAULT_PORT
    try:
        return parse_port(text)
    except UsageError as error:
        raise UsageError(f"PORTSIDE_PROXY_PORT: {error}") from None


def _record_path() -> Path:
    return state_dir() / RECORD


def _read(path: Path) -> str:
    """A state file's text, read only if it is a regular file (never through a link, never blocking on a FIFO)."""
    with os.fdopen(open_regular(path, os.O_RDONLY), "rb") as stream:
        return stream.read().decode(errors="replace")


def running() -> ProxyRecord | None:
    """The live proxy of this state directory, if one runs."""
    try:
        data = json.loads(_read(_record_path()))
        record = ProxyRecord(int(data["pid"]), int(data["start"]), int(data["port"]), tuple(data["hosts"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if is_alive(record.pid, record.start) else None


def write_record(port: int, hosts: tuple[str, ...]) -> None:
    """Called by the serving process once it listens: atomically, so readers never see half a record."""
    path = _record_path()
    pid = os.getpid()
    record = {"pid": pid, "start": start_token(pid), "port": port, "hosts": list(hosts)}
    partial = path.with_suffix(f".{pid}.tmp")
    with os.fdopen(open_regular(partial, os.O_WRONLY | os.O_TRUNC, create=True), "w") as stream:
        stream.write(json.dumps(record))
    os.replace(partial, path)


def clear_record() -> None:
    """Called by the serving process as it stops: remove the record if it is still this process's."""
    current = running()
    if current is None or current.pid == os.getpid():
        try:
            _record_path().unlink()
        except FileNotFoundError:
            pass


def start(port: int | None = None, *, lan: bool = False, https: bool = False) -> tuple[ProxyRecord, bool]:
    """The running proxy, starting one if none runs; True when this call started it.

    With `https`, the local CA is made first if there is none: the proxy serves https://
    on its port as soon as a CA exists, whenever it was started.
    """
    if https:
        ensure_ca()
    with open_store().exclusive("proxy.lock"):
        current = running()
        if current is not None:
            return current, False
        port = port or proxy_port()
        log_path = state_dir() / LOG
        argv = [sys.executable, "-m", "portside", "proxy", "serve", "--port", str(port)]
        argv += ["--lan"] if lan else []
        import subprocess  # only to start the proxy: status and routes never pay for it

        with os.fdopen(open_regular(log_path, os.O_WRONLY | os.O_APPEND, create=True), "ab") as log:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            current = running()
            if current is not None and current.pid == process.pid:
                return current, True
            if process.poll() is not None:
                tail = _read(log_path).strip().splitlines()[-1:] or [f"exit {process.returncode}"]
                raise ServiceFailed(f"the proxy did not start: {tail[0]}")
            time.sleep(0.02)
        process.terminate()
        raise ServiceFailed(f"the proxy did not start within {START_TIMEOUT:g} s (see {log_path})")


def stop(grace: float = 5.0) -> ProxyRecord | None:
    """Stop the running proxy (SIGTERM through a checked pidfd, SIGKILL after `grace`); None when none ran."""
    current = running()
    if current is None:
        return None
    info = process_info(current.pid)
    handle = signals.open_checked(info) if info is not None and info.start_ticks == current.start else None
    if handle is None:
        return None
    try:
        signals.end([handle], grace, force=True)
    finally:
        signals.close([handle])
    clear_record()
    return current
