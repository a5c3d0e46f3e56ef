"""doctor's findings about containers behind a port. Pure: listeners with their containers in, Findings out.

- `container-loopback` (fault): the port is published, but inside the container the
  service listens only on the container's own loopback, which published traffic never
  reaches (it arrives on the container's interface): clients get a reset or an empty reply.
- `container-port-mismatch` (fault): published to a container port nothing listens on.
- `container-stopped` (fault): the container that publishes the port is not running.
- `published-wide` (warning): published on every address: other machines can reach it,
  and the host's INPUT firewall rules do not apply, because DNAT happens before them.
"""

from __future__ import annotations

from portside._typing import TYPE_CHECKING
from portside.containers.bindflags import bind_all_hint
from portside.containers.describe import engine_command, label
from portside.model import Container, Finding, Listener, Protocol, Severity, TcpOutcome
from portside.net.addresses import AddressKind, classify, host_port

if TYPE_CHECKING:
    from portside.doctor.judge import Exchange

RUNNING = "running"
WIDE = ("0.0.0.0", "::")


def _answer(exchanges: tuple[Exchange, ...], address: str) -> str:
    """What the published port did for doctor's own dial, when it dialled it."""
    for exchange in exchanges:
        if exchange.tcp is TcpOutcome.REFUSED and (address in WIDE or exchange.address == address):
            return "; the published port refused the connection"
        if exchange.reply == "closed" and (address in WIDE or exchange.address == address):
            return "; the published port accepted, then closed the connection at once"
    return ""


def _loopback(listener: Listener, container: Container, exchanges: tuple[Exchange, ...]) -> Finding:
    inside = ", ".join(container.inside or ())
    hint = next((hint for info in container.processes
                 if (hint := bind_all_hint(info.cmdline, container.container_port or 0)) is not None), None)
    owner = ", ".join(f"pid {p.pid} ({p.name})" for p in container.processes)
    return Finding(
        "container-loopback", Severity.FAULT,
        f"{host_port(listener.address, listener.port)} is published by {label(container)} to its port "
        f"{container.container_port}, but inside the container that port listens only on {inside}"
        f"{f' ({owner})' if owner else ''}: its own loopback, which published traffic never reaches"
        f"{_answer(exchanges, listener.address)}",
        "make the service inside listen on 0.0.0.0" + (f": {hint}" if hint else "") + ", then restart the container",
    )


def _mismatch(listener: Listener, container: Container) -> Finding:
    others = sorted(set(container.inside_ports or ()))
    there = f"; inside it listens on {', '.join(map(str, others))}" if others else "; nothing listens inside it"
    publish = f"-p {host_port(listener.address, listener.port)}:{others[0]}" if others else "-p HOST:CONTAINER"
    return Finding(
        "container-port-mismatch", Severity.FAULT,
        f"{host_port(listener.address, listener.port)} is published by {label(container)} to its port "
        f"{container.container_port}, but nothing listens on {container.container_port} inside the container{there}",
        f"publish the port the service listens on ({publish}), or make it listen on {container.container_port}",
    )


def _stopped(port: int, container: Container) -> Finding:
    verb = "unpause" if container.state == "paused" else "start"
    return Finding(
        "container-stopped", Severity.FAULT,
        f"port {port} is published by {label(container)}, which is {container.state or 'not running'}: "
        "nothing forwards the port to it",
        f"{verb} it: {engine_command(container, verb)}",
    )


def _wide(listeners: list[Listener], container: Container) -> Finding:
    port = listeners[0].port
    where = " and ".join(host_port(item.address, port) for item in listeners)
    inside = container.container_port or "CONTAINER"
    return Finding(
        "published-wide", Severity.WARNING,
        f"{label(container)} publishes port {port} on every address ({where}): other machines can reach it, and "
        "the host's INPUT firewall rules (ufw, firewalld) do not protect it: the engine's DNAT comes before them",
        f"publish it on loopback only: -p 127.0.0.1:{port}:{inside} (and -p [::1]:{port}:{inside} for IPv6)",
    )


def container_findings(port: int, listeners: tuple[Listener, ...], stopped: tuple[Container, ...],
                       exchanges: tuple[Exchange, ...]) -> list[Finding]:
    """The container findings for TCP `port`: its listeners' containers, and the stopped containers publishing it."""
    findings: list[Finding] = []
    wide: dict[str, list[Listener]] = {}
    seen: set[tuple[str | None, int | None]] = set()
    published = [item for item in listeners if item.container is not None and item.protocol is Protocol.TCP]
    for listener in published:
        container = listener.container
        assert container is not None
        if listener.address in WIDE:
            wide.setdefault(container.id or "", []).append(listener)
        key = (container.id, container.container_port)
        if key in seen:
            continue
        seen.add(key)
        if container.state not in (None, RUNNING):
            findings.append(_stopped(port, container))
        elif container.inside == () and container.container_port is not None:
            findings.append(_mismatch(listener, container))
        elif container.inside and all(classify(a) is AddressKind.LOOPBACK for a in container.inside):
            findings.append(_loopback(listener, container, exchanges))
    for group in wide.values():
        container = group[0].container
        assert container is not None
        findings.append(_wide(group, container))
    if not published:
        findings.extend(_stopped(port, container) for container in stopped)
    return findings
