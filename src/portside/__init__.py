"""portside: the services on this machine — who listens where, exposure, and control.

This module is the whole public API: every verb of the CLI is one function here, with
keyword-only options and typed, immutable results. Each function imports its capability
on first use, so `import portside` costs only the records and the errors; records that
live with their capability (`Attempt`, `Waited`, `PortRange`, `Event`, `EventKind`, `Traffic`) load on first
access.
Examples that run: docs/api.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from portside._typing import TYPE_CHECKING
from portside._version import __version__
from portside.errors import (
    ContainerHeld,
    EmptyPool,
    EngineError,
    InventoryError,
    KillError,
    LeaseHeld,
    NothingListens,
    PlatformError,
    PolicyError,
    PoolExhausted,
    PortsideError,
    RefusedError,
    RouteHeld,
    ServiceFailed,
    StateDirError,
    StateFileError,
    StillHeld,
    TargetError,
    UsageError,
    WaitTimeout,
)
from portside.model import (
    Connection,
    ConnectionState,
    Container,
    ContainerSource,
    Endpoint,
    Engine,
    Exposure,
    Family,
    Finding,
    ForeignListener,
    Holder,
    Inventory,
    KillReport,
    Lease,
    LeaseState,
    Listener,
    ProcessInfo,
    Protocol,
    Route,
    RouteKind,
    Severity,
    TcpOutcome,
    WhoReport,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Generator

    from portside.auditing import AuditEntry, AuditReport
    from portside.auditing.verdicts import Verdict
    from portside.leasing.pool import PortRange
    from portside.monitor.events import Event, EventKind, Traffic
    from portside.probing.runner import Attempt
    from portside.probing.wait import Waited

__all__ = [
    "Attempt",
    "AuditEntry",
    "AuditReport",
    "Connection",
    "ConnectionState",
    "Container",
    "ContainerHeld",
    "ContainerSource",
    "EmptyPool",
    "Endpoint",
    "Engine",
    "EngineError",
    "Event",
    "EventKind",
    "Exposure",
    "Family",
    "Finding",
    "ForeignListener",
    "Holder",
    "Inventory",
    "InventoryError",
    "KillError",
    "KillReport",
    "Lease",
    "LeaseHeld",
    "LeaseState",
    "Listener",
    "NothingListens",
    "PlatformError",
    "PolicyError",
    "PoolExhausted",
    "PortRange",
    "PortsideError",
    "ProcessInfo",
    "Protocol",
    "RefusedError",
    "Route",
    "RouteHeld",
    "RouteKind",
    "ServiceFailed",
    "Severity",
    "StateDirError",
    "StateFileError",
    "StillHeld",
    "TargetError",
    "TcpOutcome",
    "Traffic",
    "UsageError",
    "Verdict",
    "WaitTimeout",
    "Waited",
    "WhoReport",
    "__version__",
    "audit",
    "diagnose",
    "diagnose_listen",
    "kill",
    "leases",
    "listeners",
    "metrics",
    "owner_of",
    "pick",
    "probe",
    "release",
    "routes",
    "take_inventory",
    "wait_for",
    "watch",
    "who",
]

_LAZY = {
    "Attempt": "portside.probing.runner",
    "AuditEntry": "portside.auditing",
    "AuditReport": "portside.auditing",
    "Verdict": "portside.auditing.verdicts",
    "Event": "portside.monitor.events",
    "EventKind": "portside.monitor.events",
    "Traffic": "portside.monitor.events",
    "PortRange": "portside.leasing.pool",
    "Waited": "portside.probing.wait",
}


def __getattr__(name: str) -> object:
    """Records that live with their capability load on first access, keeping `import portside` cheap."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'portside' has no attribute {name!r}")


def take_inventory(
    *,
    connections: bool = False,
    protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP),
    backend: str | None = None,
    namespaces: bool = False,
) -> Inventory:
    """Every listener on this machine, with established connections when asked, and notes on what was hidden.

    A container's published port names its container (`Listener.container`). `namespaces` adds the TCP listeners
    inside every other network namespace (containers, `ip netns`; all of them need root). `protocols` limits what
    is read; `backend` is "linux" (netlink and /proc) or "portable" (psutil); by default the best one here.
    """
    from portside.inventory import inventory

    return inventory(protocols, connections=connections, backend=backend, namespaces=namespaces)


def listeners(*, backend: str | None = None) -> tuple[Listener, ...]:
    """Every listening TCP socket and bound UDP socket, sorted by port."""
    return take_inventory(backend=backend).listeners


def metrics(*, traffic: bool = True, backend: str | None = None) -> str:
    """This machine's listeners, their TCP traffic and the leases, as Prometheus' text exposition format
    (docs/metrics.md): what `portside export --prometheus` prints. Bytes count the connections open now,
    from their start; `traffic=False` leaves connections and bytes at 0 and skips reading them.
    """
    from portside.export.prometheus import exposition
    from portside.export.sampler import Sampler

    sampler = Sampler(traffic=traffic, backend=backend, follow_closes=False)
    try:
        found = sampler.sample()
    finally:
        sampler.close()
    return exposition(found.listeners, found.traffic, found.leases)


def owner_of(target: int | str, *, backend: str | None = None) -> tuple[ProcessInfo, ...]:
    """Every process holding a listener on `target` (a port number or any target text), by pid."""
    return tuple(holder.process for holder in who(target, backend=backend).holders)


def who(target: int | str, *, backend: str | None = None) -> WhoReport:
    """Who holds `target`: its listeners, each owner with cwd and parent chain, and the connected clients.

    `listeners` is empty when nothing holds it.
    """
    from portside.inventory.who import who as find

    return find(target, backend=backend)


def kill(
    target: int | str,
    *,
    timeout: float = 5.0,
    force: bool = False,
    dry_run: bool = False,
    confirm: Callable[[tuple[ProcessInfo, ...]], bool] | None = None,
    containers: bool = False,
) -> KillReport:
    """SIGTERM every process listening on `target` (never a client), through pidfds checked against start times.

    Waits up to `timeout` seconds; SIGKILL only with `force`; `dry_run` signals no one. Refuses pid 1, this
    process and its parents (RefusedError), and never signals a container's stand-in (docker-proxy, conmon,
    rootlessport): a container's port raises ContainerHeld, naming the container and the engine command,
    unless `containers`, which stops the container through its engine's API. `confirm` sees the victims first
    and may decline (nothing is signalled). `KillReport.freed` says whether the port is free afterwards.
    """
    from portside.process.kill import kill as end

    return end(target, timeout=timeout, force=force, dry_run=dry_run, confirm=confirm, containers=containers)


def pick(
    count: int | None = None,
    *,
    names: Iterable[str] = (),
    protocol: Protocol = Protocol.TCP,
    port_range: PortRange | str | None = None,
    ttl: float | None = None,
    owner: int | None = None,
) -> tuple[Lease, ...]:
    """Lease `count` ports (default 1), or one per name in `names`, free now and outside the kernel's range.

    A name gets the same port next time while it is free. The lease belongs to `owner` (default: this
    process) and ends when it exits, at `release`, or after `ttl` seconds. `port_range` is a PortRange or
    "LO-HI" (default: IANA's dynamic range minus the kernel's ephemeral range).
    """
    from portside.leasing.allocate import pick as allocate
    from portside.leasing.pool import parse_range
    from portside.net.names import parse_name

    wanted = [parse_name(name) for name in names]
    if wanted and count is not None:
        raise UsageError("give a count or names, not both: each name gets one port")
    chosen = parse_range(port_range) if isinstance(port_range, str) else port_range
    return tuple(allocate(None if wanted else count or 1, names=wanted, protocol=protocol, port_range=chosen,
                          ttl=ttl, owner=owner))


def release(key: int | str, *, owner: int | None = None) -> tuple[Lease, ...]:
    """End the lease on a port (int) or of a name (str), optionally only `owner`'s; the name keeps its port."""
    from portside.leasing.allocate import release as end
    from portside.net.names import parse_name

    return tuple(end(key if isinstance(key, int) else parse_name(key), owner=owner))


def leases() -> tuple[LeaseState, ...]:
    """Every recorded lease, sorted by port, with whether its owner still runs and its time is not up."""
    from portside.leasing.allocate import leases as recorded

    return tuple(recorded())


def wait_for(
    targets: Iterable[int | str],
    *,
    timeout: float | None = 30.0,
    closed: bool = False,
    http: bool | int | None = None,
) -> tuple[Waited, ...]:
    """Dial every address of each target until all accept (or, with `closed`, all refuse); None waits forever.

    `http=True` waits for a GET that answers 2xx/3xx, an int for that status. Returns per target whether it
    got ready, where, after how long, and what each address said last; never raises on a timeout.
    """
    from portside.net.addresses import parse_target
    from portside.probing.wait import HttpExpectation
    from portside.probing.wait import wait_for as dial

    texts = [str(target) for target in targets]
    expectation = None if http is None or http is False else HttpExpectation(None if http is True else int(http))
    return tuple(dial([(text, parse_target(text)) for text in texts], timeout=timeout, closed=closed,
                      http=expectation))


def probe(target: int | str) -> tuple[Attempt, ...]:
    """What answers at `target`: per address the TCP outcome, connect time and the protocol spoken (politely)."""
    from portside.net.addresses import parse_target
    from portside.probing.runner import probe as dial

    return tuple(dial(parse_target(str(target))))


def diagnose(target: int | str, *, environ: Mapping[str, str] | None = None) -> tuple[Finding, ...]:
    """Why a client cannot reach `target`: ranked findings (code, severity, what was seen, the fix).

    `environ` supplies the proxy variables a client would see (default: this process's environment).
    """
    import os

    from portside.doctor.evidence import target_evidence
    from portside.doctor.judge import diagnose_target
    from portside.net.addresses import parse_target

    evidence = target_evidence(parse_target(str(target)), os.environ if environ is None else environ)
    return tuple(diagnose_target(evidence))


def diagnose_listen(port: int | str) -> tuple[Finding, ...]:
    """Why a server cannot bind TCP `port`: port-in-use (by whom), time-wait, ephemeral-range, privileged-port."""
    from portside.doctor.evidence import listen_evidence
    from portside.doctor.judge import diagnose_listen as judge
    from portside.net.addresses import parse_port

    return tuple(judge(listen_evidence(parse_port(str(port).strip()))))


def audit(*, policy: str | os.PathLike[str] | None = None, probe: bool = False, verify: bool = False) -> AuditReport:
    """Which TCP listeners other machines can reach (verdict local, reachable, filtered or unknown, with the rule
    that decides), checked against the TOML policy file `policy` (None: nothing may be reachable beyond
    loopback); with `probe`, exposed services are asked what they are and risky ones become findings; with `verify`
    (root), each exposed listener is dialled from a network namespace portside builds and removes, and the measured
    outcome is set beside the predicted one (`AuditEntry.checks`; a mismatch is a `verify-mismatch` finding)."""
    from portside.auditing import audit as run
    from portside.auditing.policy import Policy, parse_policy

    if policy is None:
        return run(Policy(), probe=probe, verify=verify)
    try:
        with open(policy, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"policy {str(policy)!r} cannot be read: {error}") from None
    return run(parse_policy(text, str(policy)), probe=probe, verify=verify)


def routes() -> tuple[Route, ...]:
    """The live NAME.localhost routes, sorted by name (routes of exited `run` owners are pruned)."""
    from portside.router.registry import routes as live

    return tuple(live())


def watch(
    *,
    interval: float = 1.0,
    exposed: bool = False,
    traffic: bool = True,
    protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP),
    duration: float | None = None,
) -> Generator[Event, None, None]:
    """Sample the machine every `interval` seconds and yield what changed, as it is seen: `Event`s of kind
    opened, closed, owner-changed, exposure-changed, traffic (a TCP listener's connections and bytes per
    interval, without `traffic=False`) and note (what cannot be seen, and why). The first sample, the
    baseline, is taken before this returns: listeners already there make no event. `exposed` keeps the
    listeners reachable beyond loopback (before or after a change). Samples are taken as the generator is
    iterated; it runs until closed, or for `duration` seconds.
    """
    from portside.monitor.watcher import watch as follow

    if not interval > 0:
        raise UsageError(f"interval must be more than 0 seconds, not {interval}")
    if duration is not None and not duration >= 0:
        raise UsageError(f"duration must be zero or more seconds, not {duration}")
    return follow(interval=interval, exposed_only=exposed, traffic=traffic, protocols=protocols, duration=duration)
