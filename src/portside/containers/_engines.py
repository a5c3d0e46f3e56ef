"""Find the container engines' API sockets and ask them, each within a bounded time.

Sockets, in order: `$DOCKER_HOST` and `$CONTAINER_HOST` (Podman's) when they are unix://
URLs, Docker's /var/run/docker.sock, rootful Podman's /run/podman/podman.sock, and the
rootless ones under `$XDG_RUNTIME_DIR` (as root: every user's, under /run/user). Only
sockets that exist are asked, side by side, each within TIMEOUT seconds; one that is
missing although an environment variable names it, refuses, hangs or answers garbage
gets a note. The engine is told by its reply (Podman's says Libpod), not by the path.
"""

from __future__ import annotations

import glob
import os
import stat
import time
from collections.abc import Callable, Mapping

from portside._typing import TYPE_CHECKING, NamedTuple
from portside.containers._client import request
from portside.containers.engineapi import EngineContainer, containers_from, engine_of, inspected
from portside.errors import EngineError
from portside.model import Engine

TIMEOUT = 0.5
MAX_INSPECTED = 50
DEFAULTS = ("/var/run/docker.sock", "/run/podman/podman.sock")
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")


class Asked(NamedTuple):
    """What the engines answered: containers, the socket each came from, which engines answered where, and
    notes on the sockets that failed."""

    containers: tuple[EngineContainer, ...]
    origins: dict[str, str]
    answered: tuple[tuple[Engine, str], ...]
    notes: tuple[str, ...]

    def engines(self) -> frozenset[Engine]:
        return frozenset(engine for engine, _ in self.answered)


def _unix(url: str | None) -> str | None:
    return url[len("unix://"):] if url and url.startswith("unix://") else None


def sockets(environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The engine sockets that exist here, and notes on those named by the environment that do not."""
    named = [(variable, _unix(environ.get(variable))) for variable in ("DOCKER_HOST", "CONTAINER_HOST")]
    runtime = environ.get("XDG_RUNTIME_DIR")
    candidates = [path for _, path in named if path] + list(DEFAULTS)
    if runtime:
        candidates += [f"{runtime}/podman/podman.sock", f"{runtime}/docker.sock"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        candidates += sorted(glob.glob("/run/user/*/podman/podman.sock") + glob.glob("/run/user/*/docker.sock"))
    found: dict[str, str] = {}
    notes = []
    for path in candidates:
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                found.setdefault(os.path.realpath(path), path)
                continue
        except PermissionError:
            found.setdefault(path, path)  # asking it says why it may not be used
            continue
        except OSError:
            pass
        variable = next((name for name, value in named if value == path), None)
        if variable is not None:
            notes.append(f"{variable} names unix://{path}, which is not a socket here")
    return list(found.values()), notes


def _each(paths: list[str], ask: Callable[[str], T]) -> list[T | EngineError]:
    """`ask(path)` for every path, side by side when there are several; errors returned in place."""
    def safe(path: str) -> T | EngineError:
        try:
            return ask(path)
        except EngineError as error:
            return error

    if len(paths) < 2:
        return [safe(path) for path in paths]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        return list(pool.map(safe, paths))


def _get(path: str, target: str, deadline: float) -> tuple[Engine, bytes]:
    head, body = request(path, target, deadline)
    if head.status != 200:
        said = body[:200].decode("utf-8", "replace").strip()
        raise EngineError(f"{path} answered {head.status} to GET {target}: {said}")
    return engine_of(head), body


Listed = tuple[Engine, tuple[EngineContainer, ...]]


def _listed(path: str, timeout: float, target: str) -> Listed:
    engine, body = _get(path, target, time.monotonic() + timeout)
    try:
        return engine, containers_from(body, engine)
    except EngineError as error:
        raise EngineError(f"{path}: {error}") from error


def _gather(environ: Mapping[str, str], ask: Callable[[str], Listed]) -> Asked:
    paths, notes = sockets(environ)
    containers: list[EngineContainer] = []
    origins: dict[str, str] = {}
    answered = []
    for path, result in zip(paths, _each(paths, ask), strict=True):
        if isinstance(result, EngineError):
            notes.append(f"the engine API could not be used: {result}")
            continue
        engine, records = result
        answered.append((engine, path))
        for record in records:
            origins.setdefault(record.id, path)
            containers.append(record)
    return Asked(tuple(containers), origins, tuple(answered), tuple(notes))


def running(environ: Mapping[str, str] | None = None, timeout: float = TIMEOUT) -> Asked:
    """The running containers of every engine that answers within `timeout`."""
    return _gather(os.environ if environ is None else environ,
                   lambda path: _listed(path, timeout, "/containers/json"))


def stopped(environ: Mapping[str, str] | None = None, timeout: float = TIMEOUT) -> Asked:
    """The containers that exist but do not run, with the ports they publish when running (one inspect each)."""
    def ask(path: str) -> Listed:
        deadline = time.monotonic() + timeout
        engine, listed = _listed(path, timeout, "/containers/json?all=1")
        found = []
        # Filtered here, not by the engine: Podman's compatible API rejects Docker's `dead` status filter.
        for record in [record for record in listed if record.state != "running"][:MAX_INSPECTED]:
            _, body = _get(path, f"/containers/{record.id}/json", deadline)
            try:
                found.append(inspected(body, engine)._replace(image=record.image))
            except EngineError as error:
                raise EngineError(f"{path}: {error}") from error
        return engine, tuple(found)

    return _gather(os.environ if environ is None else environ, ask)


def stop(path: str, cid: str, grace: float) -> None:
    """Ask the engine at `path` to stop container `cid` (SIGTERM, SIGKILL after `grace` seconds)."""
    head, body = request(path, f"/containers/{cid}/stop?t={max(int(grace), 0)}", time.monotonic() + grace + 10,
                         method="POST")
    if head.status not in (204, 304):
        said = body[:200].decode("utf-8", "replace").strip()
        raise EngineError(f"{path} answered {head.status} to stopping {cid[:12]}: {said}")
