"""The engines' stand-ins and bridges, by name: the cheap test every inventory makes. Pure.

Kept apart from everything else about containers so that `ls` on a machine without an
engine imports nothing more than these constants.
"""

from __future__ import annotations

from portside.model import InterfaceAddress, ProcessInfo

DOCKER_PROXY = "docker-proxy"
DOCKERD = "dockerd"
CONMON = "conmon"
ROOTLESSPORT = "rootlessport"
PROXIES = frozenset({DOCKER_PROXY, CONMON, ROOTLESSPORT})  # they hold nothing but containers' ports
NAMES = PROXIES | {DOCKERD}
HEX = frozenset("0123456789abcdef")


def kind_of(info: ProcessInfo) -> str | None:
    """The stand-in `info` is (by its name, or its program's file name when renamed), or None."""
    if info.name in NAMES:
        return info.name
    program = info.cmdline[0].rsplit("/", 1)[-1] if info.cmdline else ""
    return program if program in NAMES else None


def is_stand_in(info: ProcessInfo) -> bool:
    """True for docker-proxy, dockerd, conmon and rootlessport."""
    return kind_of(info) is not None


def is_proxy(info: ProcessInfo) -> bool:
    """True for the stand-ins that hold nothing but containers' ports: docker-proxy, conmon, rootlessport."""
    return kind_of(info) in PROXIES


def is_engine_bridge(item: InterfaceAddress) -> bool:
    """True for an engine's bridge: docker0, podmanN, cni-podmanN, or a Docker network's br-<12 hex digits>."""
    name = item.interface
    for prefix in ("podman", "cni-podman"):
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            return True
    return name == "docker0" or name.startswith("br-") and len(name) == 15 and set(name[3:]) <= HEX
