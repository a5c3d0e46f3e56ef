"""The engines' stand-ins: the processes that hold a container's published port on the host. Pure.

Docker's `docker-proxy` names both ends in its argv (`-proto tcp -host-ip 127.0.0.1
-host-port 8080 -container-ip 172.17.0.2 -container-port 80`); with `userland-proxy`
off, `dockerd` itself holds the port to reserve it (Docker 20.10) and DNAT carries the
traffic, and its argv names nothing. Podman's `conmon` only
reserves the port (traffic goes through a DNAT rule) and names the container (`-c ID
-n NAME`); rootless networking's `rootlessport` names nothing: its child process
(`rootlessport-child`) lives in the container's network namespace. A stand-in is never a service to signal: stopping
it breaks the engine, not the container.
"""

from __future__ import annotations

from collections.abc import Sequence

from portside._typing import NamedTuple
from portside.containers.names import CONMON, DOCKER_PROXY, DOCKERD, ROOTLESSPORT, kind_of
from portside.model import Engine, ProcessInfo

ENGINES = {DOCKER_PROXY: Engine.DOCKER, DOCKERD: Engine.DOCKER, CONMON: Engine.PODMAN, ROOTLESSPORT: Engine.PODMAN}


class StandIn(NamedTuple):
    """A stand-in process and what its argv says about the port it holds (None: not said)."""

    pid: int
    kind: str
    engine: Engine
    protocol: str | None = None
    host_address: str | None = None
    host_port: int | None = None
    container_address: str | None = None
    container_port: int | None = None
    container_id: str | None = None
    container_name: str | None = None


def _options(argv: Sequence[str]) -> dict[str, str]:
    """`-flag value` and `--flag=value` pairs of an argv (Go's flag package accepts -x, --x and =)."""
    found: dict[str, str] = {}
    index = 1
    while index < len(argv):
        word = argv[index]
        index += 1
        if not word.startswith("-"):
            continue
        name, equals, value = word.lstrip("-").partition("=")
        if not equals:
            if index >= len(argv) or argv[index].startswith("-"):
                continue
            value = argv[index]
            index += 1
        found.setdefault(name, value)
    return found


def _port(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() and 0 < int(text) < 65536 else None


def stand_in(info: ProcessInfo) -> StandIn | None:
    """What a stand-in's argv tells; None when `info` is not a stand-in."""
    kind = kind_of(info)
    if kind is None:
        return None
    found = StandIn(info.pid, kind, ENGINES[kind])
    options = _options(info.cmdline)
    if kind == DOCKER_PROXY:
        return found._replace(
            protocol=options.get("proto", "tcp"),
            host_address=options.get("host-ip"),
            host_port=_port(options.get("host-port")),
            container_address=options.get("container-ip"),
            container_port=_port(options.get("container-port")),
        )
    if kind == CONMON:
        # conmon's short options: -c/--cid the container id, -n/--name its name.
        cid = options.get("c") or options.get("cid")
        return found._replace(container_id=cid or None, container_name=options.get("n") or options.get("name"))
    return found
