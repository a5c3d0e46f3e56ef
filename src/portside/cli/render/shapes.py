"""The `--json` contract: every verb's document, built from model objects with stable keys (docs/json.md).

Each verb's shape is one function here (`*_json`), so the contract is read and tested in
one place; the verbs only call them. `inventory_text` writes the same document as `json.dumps(inventory_json(...))` without
building it first: a busy machine has ten thousand listeners but few distinct owner
sets, addresses and reachability lists, so each of those is encoded once and every
listener is one string format. Tests check the two agree.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from portside._typing import TYPE_CHECKING
from portside.model import (
    Connection,
    Container,
    Endpoint,
    Finding,
    ForeignListener,
    Holder,
    Inventory,
    KillReport,
    Lease,
    LeaseState,
    Listener,
    ProcessInfo,
    Route,
    WhoReport,
)

if TYPE_CHECKING:
    from typing import Any

    from portside.auditing import AuditReport
    from portside.monitor.events import Event, Traffic
    from portside.probing.runner import Attempt
    from portside.probing.wait import Waited
    from portside.router.control import ProxyRecord
    from portside.router.tls.trust import Step

Json = dict[str, object]


def process_json(info: ProcessInfo) -> Json:
    return {
        "pid": info.pid,
        "name": info.name,
        "cmdline": list(info.cmdline),
        "user": info.user,
        "uid": info.uid,
        "ppid": info.ppid,
        "start_time": info.start_time,
    }


def endpoint_json(endpoint: Endpoint) -> Json:
    return {"address": endpoint.address, "port": endpoint.port}


class _Processes(dict[int, Json]):
    def __init__(self, infos: dict[int, ProcessInfo]) -> None:
        super().__init__()
        self.infos = infos

    def __missing__(self, pid: int) -> Json:
        value = process_json(self.infos[pid])
        self[pid] = value
        return value


def container_json(container: Container | None) -> Json | None:
    """The container behind a listener (docs/json.md), or None."""
    if container is None:
        return None
    return {
        "engine": container.engine.value,
        "id": container.id,
        "name": container.name,
        "image": container.image,
        "container_port": container.container_port,
        "container_address": container.container_address,
        "state": container.state,
        "stand_in": container.stand_in,
        "source": container.source.value,
        "inside": None if container.inside is None else list(container.inside),
        "inside_ports": None if container.inside_ports is None else list(container.inside_ports),
        "processes": [process_json(info) for info in container.processes],
    }


def listener_json(listener: Listener, processes: dict[int, Json] | None = None) -> Json:
    owners = [processes[p.pid] if processes is not None else process_json(p) for p in listener.processes]
    return {
        "protocol": listener.protocol.value,
        "family": listener.family.value,
        "address": listener.address,
        "port": listener.port,
        "dual_stack": listener.dual_stack,
        "exposure": listener.exposure.value,
        "reachable_on": list(listener.reachable_on),
        "processes": owners,
        "socket_users": list(listener.socket_users),
        "inodes": list(listener.inodes),
        "accept_queue": listener.accept_queue,
        "backlog": listener.backlog,
        "note": listener.note,
        "container": container_json(listener.container),
    }


def connection_json(connection: Connection, processes: dict[int, Json] | None = None) -> Json:
    owners = [processes[p.pid] if processes is not None else process_json(p) for p in connection.processes]
    return {
        "protocol": connection.protocol.value,
        "family": connection.family.value,
        "state": connection.state,
        "local": endpoint_json(connection.local),
        "remote": endpoint_json(connection.remote),
        "processes": owners,
        "inode": connection.inode,
    }


def foreign_json(listener: ForeignListener) -> Json:
    """A listener inside another network namespace (`ls --namespaces`)."""
    return {
        "namespace": listener.namespace,
        "address": listener.address,
        "port": listener.port,
        "pid": listener.pid,
        "process": listener.process,
        "container": container_json(listener.container),
    }


def inventory_json(inventory: Inventory, with_connections: bool = False, with_namespaces: bool = False) -> Json:
    items: tuple[Listener | Connection, ...] = (*inventory.listeners, *inventory.connections)
    infos = {p.pid: p for item in items for p in item.processes}
    shared = _Processes(infos)
    result: Json = {"listeners": [listener_json(item, shared) for item in inventory.listeners]}
    if with_connections:
        result["connections"] = [connection_json(item, shared) for item in inventory.connections]
    if with_namespaces:
        result["namespaces"] = [foreign_json(item) for item in inventory.namespaces]
    result["notes"] = list(inventory.notes)
    return result


@cache
def _encoder() -> Callable[[Any], str]:
    import json  # on the --json paths only: a table never pays for it

    return json.JSONEncoder(separators=(",", ":")).encode


def _encode(value: Any) -> str:
    return _encoder()(value)


class _Encoded(dict[int, str]):
    """Encodings keyed by object identity: the assembler shares one tuple among all
    listeners with the same owners (or users, or reachable addresses), so identity
    finds repeats without hashing their contents. The objects outlive this cache."""

    def __init__(self, encode: Callable[[Any], str]) -> None:
        super().__init__()
        self.encode = encode

    def of(self, value: object) -> str:
        key = id(value)
        found = self.get(key)
        if found is None:
            found = self[key] = self.encode(value)
        return found


def _encode_owners(processes: tuple[ProcessInfo, ...]) -> str:
    return _encode([process_json(info) for info in processes])


def inventory_text(inventory: Inventory, with_connections: bool = False, with_namespaces: bool = False) -> str:
    """`inventory_json` encoded as compact JSON text, built piecewise for speed."""
    plain = _Encoded(_encode).of
    owners = _Encoded(_encode_owners).of
    heads: dict[tuple[str, str, str], str] = {}
    middles: dict[tuple[bool, str, int, int, int], str] = {}
    parts: list[str] = []
    append = parts.append
    # Listeners differ mostly in port and inode: the text before the port ("head") and
    # between port and inodes ("middle") is built once per distinct combination.
    # StrEnum members format as their values.
    for (protocol, family, address, port, dual_stack, exposure, reachable_on, processes, inodes, socket_users,
         accept_queue, backlog, note, container) in inventory.listeners:
        head = heads.get((protocol, family, address))
        if head is None:
            head = heads[protocol, family, address] = (
                f'{{"protocol":"{protocol}","family":"{family}","address":{plain(address)},"port":'
            )
        middle_key = (dual_stack, exposure, id(reachable_on), id(processes), id(socket_users))
        middle = middles.get(middle_key)
        if middle is None:
            middle = middles[middle_key] = (
                f',"dual_stack":{"true" if dual_stack else "false"},"exposure":"{exposure}",'
                f'"reachable_on":{plain(reachable_on)},"processes":{owners(processes)},'
                f'"socket_users":{plain(socket_users)},"inodes":'
            )
        append(
            f'{head}{port}{middle}{f"[{inodes[0]}]" if len(inodes) == 1 else _encode(list(inodes))},'
            f'"accept_queue":{"null" if accept_queue is None else accept_queue},'
            f'"backlog":{"null" if backlog is None else backlog},"note":{"null" if note is None else _encode(note)},'
            f'"container":{"null" if container is None else _encode(container_json(container))}}}'
        )
    text = '{"listeners":[' + ",".join(parts) + "]"
    if with_connections:
        items: tuple[Listener | Connection, ...] = inventory.connections
        shared = _Processes({p.pid: p for item in items for p in item.processes})
        text += ',"connections":' + _encode([connection_json(item, shared) for item in inventory.connections])
    if with_namespaces:
        text += ',"namespaces":' + _encode([foreign_json(item) for item in inventory.namespaces])
    return text + ',"notes":' + _encode(list(inventory.notes)) + "}"


def lease_json(lease: Lease, alive: bool | None = None) -> Json:
    data: Json = {
        "port": lease.port,
        "name": lease.name,
        "owner_pid": lease.owner_pid,
        "expires": lease.expires,
        "protocol": lease.protocol.value,
        "created": lease.created,
    }
    if alive is not None:
        data["alive"] = alive
    return data


def pick_json(leases: tuple[Lease, ...]) -> Json:
    return {"ports": [lease_json(lease) for lease in leases]}


def leases_json(states: tuple[LeaseState, ...]) -> Json:
    return {"leases": [lease_json(state.lease, state.alive) for state in states]}


def release_json(leases: tuple[Lease, ...]) -> Json:
    return {"released": [lease_json(lease) for lease in leases]}


def _holder_json(holder: Holder) -> Json:
    return {**process_json(holder.process), "cwd": holder.cwd,
            "parents": [process_json(parent) for parent in holder.parents]}


def who_json(report: WhoReport) -> Json:
    holders = {holder.process.pid: _holder_json(holder) for holder in report.holders}
    return {
        "target": report.target,
        "port": report.port,
        "listeners": [listener_json(item, holders) for item in report.listeners],
        "connections": [connection_json(item) for item in report.connections],
        "notes": list(report.notes),
    }


def kill_json(report: KillReport) -> Json:
    return {
        "target": report.target,
        "port": report.port,
        "dry_run": report.dry_run,
        "declined": report.declined,
        "victims": [process_json(info) for info in report.victims],
        "signalled": [{**process_json(info), "signal": name} for info, name in report.signalled],
        "survivors": [process_json(info) for info in report.survivors],
        "vanished": [process_json(info) for info in report.vanished],
        "containers": [container_json(container) for container in report.containers],
        "freed": report.freed,
    }


def wait_json(results: tuple[Waited, ...]) -> Json:
    return {"targets": [
        {"target": w.text, "ready": w.ready, "address": w.address, "elapsed_s": round(w.elapsed, 6), "seen": w.seen}
        for w in results
    ]}


def probe_json(target: str, attempts: tuple[Attempt, ...]) -> Json:
    return {"target": target, "attempts": [
        {"address": a.address, "port": a.port, "tcp": a.tcp, "connect_ms": a.connect_ms, "protocol": a.protocol,
         "details": a.details}
        for a in attempts
    ]}


def doctor_json(target: str, findings: tuple[Finding, ...]) -> Json:
    return {"target": target, "findings": [
        {"code": f.code, "severity": f.severity.value, "observed": f.observed, "fix": f.fix} for f in findings
    ]}


def route_json(route: Route, port: int, https: bool) -> Json:
    from portside.router.routing import url_of

    return {"name": route.name, "url": url_of(route.name, port, "http"),
            "https_url": url_of(route.name, port, "https") if https else None, "port": route.port,
            "kind": route.kind, "owner_pid": route.owner_pid, "created": route.created}


def routes_json(routes: tuple[Route, ...], proxy: ProxyRecord | None, port: int, https: bool) -> Json:
    return {"proxy": {"running": proxy is not None, "port": port, "https": https,
                      "pid": proxy.pid if proxy else None},
            "routes": [route_json(route, port, https) for route in routes]}


def alias_json(route: Route, url: str) -> Json:
    return {"name": route.name, "port": route.port, "url": url}


def alias_removed_json(name: str) -> Json:
    return {"name": name, "removed": True}


def dashboard_json(url: str) -> Json:
    return {"url": url}


def proxy_json(record: ProxyRecord, state: str, https: bool) -> Json:
    return {"running": True, "state": state, "pid": record.pid, "port": record.port, "hosts": list(record.hosts),
            "url": record.url("NAME"), "https_url": record.url("NAME", https=True) if https else None}


def proxy_down_json(state: str, port: int) -> Json:
    return {"running": False, "state": state, "port": port}


def trust_json(ca: str, made: bool, removed: bool, steps: list[Step]) -> Json:
    return {"ca": ca, "made": made, "removed": removed,
            "stores": [{"store": step.store, "state": step.state, "detail": step.detail} for step in steps]}


def run_json(name: str, url: str, port: int, pid: int) -> Json:
    return {"name": name, "url": url, "port": port, "pid": pid}


def traffic_json(traffic: Traffic) -> Json:
    return {"connections": traffic.connections, "bytes_in": traffic.bytes_in, "bytes_out": traffic.bytes_out,
            "seconds": round(traffic.seconds, 6), "rate_in": round(traffic.rate_in, 1),
            "rate_out": round(traffic.rate_out, 1)}


def event_json(event: Event) -> Json:
    """One line of `watch --json`: every key on every kind, null where it does not apply."""
    return {
        "event": event.kind.value,
        "time": round(event.time, 6),
        "listener": None if event.listener is None else listener_json(event.listener),
        "before": None if event.before is None else listener_json(event.before),
        "traffic": None if event.traffic is None else traffic_json(event.traffic),
        "note": event.note,
    }


def audit_json(report: AuditReport, policy: str | None) -> Json:
    """`portside audit --json`: each listener's verdict, paths, policy decision and findings."""
    from portside.auditing import findings_of

    return {
        "policy": policy,
        "violations": len(report.violations),
        "listeners": [{
            "listener": listener_json(entry.listener),
            "verdict": entry.reachability.verdict.value,
            "reason": entry.reachability.reason,
            "paths": [{"interface": path.interface, "address": path.address, "source": path.source or None,
                       "fate": path.outcome.fate.value, "rule": path.outcome.said()}
                      for path in entry.reachability.paths],
            "allowed": entry.allowed,
            "violation": entry.violation,
            "verified": [{"address": c.address, "predicted": c.predicted.value, "measured": c.measured,
                          "agrees": c.agrees} for c in entry.checks],
            "findings": [{"code": f.code, "severity": f.severity.value, "observed": f.observed, "fix": f.fix}
                         for f in findings_of(entry)],
        } for entry in report.entries],
        "notes": list(report.notes),
    }
