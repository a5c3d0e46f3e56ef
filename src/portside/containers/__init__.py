"""Host port -> container (Docker, Podman): the container a published port leads to, and what listens inside.

A container's published port is held on the host by a stand-in (docker-proxy, conmon,
rootlessport, or dockerd with its userland proxy off) or by a DNAT rule alone. `attach`,
called by every inventory, costs a glance at the listeners' owners and the interface
names; only when a stand-in holds a port or an engine's bridge exists does it read the
engines (_lookup.py: the API, then /proc, state files and DNAT rules).
`namespace_listeners` lists what listens inside every other network namespace (`ls
--namespaces`); `stopped_publishing` gives doctor the stopped containers that publish a
port; `stop_container` is `kill --container`.
"""

from __future__ import annotations

import os

from portside._typing import TYPE_CHECKING
from portside.containers.names import is_engine_bridge, is_stand_in
from portside.errors import EngineError
from portside.model import Container, ForeignListener, Inventory, ProcessInfo, Protocol

if TYPE_CHECKING:
    from portside.inventory.snapshot import Snapshot


def _stand_ins(found: Inventory) -> dict[int, ProcessInfo]:
    seen: set[int] = set()
    owners: dict[int, ProcessInfo] = {}
    for item in found.listeners:
        if id(item.processes) in seen:
            continue
        seen.add(id(item.processes))
        owners.update((info.pid, info) for info in item.processes if is_stand_in(info))
    return owners


def engine_bridge(snapshot: Snapshot) -> bool:
    """True when an engine's bridge (docker0, podman0, cni-podman0, a Docker network's br-ID) is up here."""
    return any(is_engine_bridge(item) for item in snapshot.interfaces)


def attach(found: Inventory, snapshot: Snapshot, protocols: tuple[Protocol, ...]) -> Inventory:
    """`found` with each container's port named (`Listener.container`); unchanged when no engine is in sight."""
    owners = _stand_ins(found)
    if not owners and not engine_bridge(snapshot):
        return found
    from portside.containers._lookup import attach as look

    return look(found, snapshot, owners, protocols)


def stop_container(container: Container, grace: float) -> None:
    """Stop `container` through the engine API that lists it (SIGKILL after `grace` s); EngineError when none can."""
    from portside.containers import _engines
    from portside.containers.describe import engine_command, label

    asked = _engines.running()
    path = asked.origins.get(container.id or "")
    if path is None or container.id is None:
        why = "; ".join(asked.notes) or "no engine API that answers lists it"
        raise EngineError(f"cannot stop {label(container)} through its engine ({why}): stop it with "
                          f"{engine_command(container, 'stop')}")
    _engines.stop(path, container.id, grace)


def stopped_publishing(port: int, protocol: Protocol = Protocol.TCP) -> tuple[Container, ...]:
    """The containers that publish `port` but do not run (exited, created, paused), as the engines' APIs say."""
    from portside.containers import _engines

    found = _engines.stopped().containers
    if not found:  # no engine, or none with a stopped container: the matching is not even imported
        return ()
    from portside.containers.identify import parked

    return parked(found, protocol, port)


def namespace_listeners() -> tuple[tuple[ForeignListener, ...], tuple[str, ...]]:
    """TCP listeners inside every other network namespace (containers, `ip netns`), each with its container when
    it is one's; and a note when some namespaces could not be read (another user's, without root)."""
    from portside.containers._lookup import in_namespaces
    from portside.inventory import listeners_elsewhere

    found, complete = listeners_elsewhere(None)
    notes = () if complete else (
        "some processes' network namespaces could not be read (another user's, or a protected process): their "
        "listeners are missing" + ("" if os.geteuid() == 0 else "; run as root to see every container's"),)
    return in_namespaces(found), notes
