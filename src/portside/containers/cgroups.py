"""Which container a process belongs to, from its /proc/PID/cgroup text. Pure.

Engines put each container in a cgroup named after its id: Docker `/docker/ID` (cgroupfs)
or `/system.slice/docker-ID.scope` (systemd), Podman `/libpod_parent/libpod-ID` or
`/machine.slice/libpod-ID.scope` (and `libpod-conmon-ID` for its conmon, which is not
the container). Nested paths (Docker in Docker, Kubernetes) name the innermost container.
"""

from __future__ import annotations

import re

from portside.model import Engine

_ID = r"([0-9a-f]{64})"
_PATTERNS = (
    (re.compile(rf"(?:^|/)docker[-/]{_ID}(?:\.scope)?$"), Engine.DOCKER),
    (re.compile(rf"(?:^|/)libpod-{_ID}(?:\.scope)?(?:/container)?$"), Engine.PODMAN),
)


def container_of(text: str) -> tuple[Engine, str] | None:
    """(engine, container id) of the process whose cgroup file is `text`; None outside a container."""
    for line in text.splitlines():
        path = line.split(":", 2)[-1].rstrip("/")
        for pattern, engine in _PATTERNS:
            found = pattern.search(path)
            if found is not None:
                return engine, found.group(1)
    return None
