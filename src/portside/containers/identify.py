"""Tie host ports to containers: stand-ins, engine records, cgroups and DNAT rules in, `Container`s out. Pure.

A listener is a container's when a stand-in holds it, or when nobody visible holds it
and an engine publishes it (or a DNAT rule of an engine's chain forwards it). Each fact
is matched by what it names: conmon's argv the container id, docker-proxy's argv the
container's address and port, rootlessport its child's namespace (resolved before this),
an engine record its published ports, a DNAT rule its destination address. `source`
says which fact named the container, best first: the API, a state file, a stand-in's
argv, a cgroup, a DNAT rule. Ports an engine publishes with no socket at all (Docker's
userland-proxy off, CNI and netavark port maps) become listeners of their own, marked
by `stand_in` None; an engine's record counts only when its network's gateway is an
address here, so an engine of another network namespace never adds listeners.
"""

from __future__ import annotations

import ipaddress

from portside._typing import NamedTuple
from portside.containers.dnat import DnatRule
from portside.containers.engineapi import EngineContainer, PortMap
from portside.containers.facts import Facts, Member
from portside.containers.names import DOCKER_PROXY, DOCKERD
from portside.containers.standins import StandIn
from portside.inventory.exposure import judge
from portside.model import Container, ContainerSource, Engine, Family, Listener, Protocol

NO_SOCKET = ("no socket: {engine} forwards this port to the container by a DNAT rule alone "
             "(Docker's userland-proxy off, or a CNI or netavark port map)")


def same_host(bound: str, published: str) -> bool:
    """True when a socket bound to `bound` is the one published on `published` (a wildcard is its family's)."""
    try:
        return ipaddress.ip_address(bound) == ipaddress.ip_address(published)
    except ValueError:
        return bound == published


def _published(ports: tuple[PortMap, ...], protocol: str, address: str, port: int) -> PortMap | None:
    return next((item for item in ports if item.protocol == protocol and item.host_port == port
                 and same_host(address, item.host_address)), None)


def _record(facts: Facts, cid: str | None) -> tuple[EngineContainer | None, ContainerSource | None]:
    if cid:
        for records, source in ((facts.api, ContainerSource.API), (facts.states, ContainerSource.STATE_FILE)):
            found = next((r for r in records if r.id.startswith(cid) or cid.startswith(r.id)), None)
            if found is not None:
                return found, source
    return None, None


def _publisher(facts: Facts, listener: Listener) -> tuple[EngineContainer | None, ContainerSource | None]:
    """The engine record that publishes the listener's address and port."""
    for records, source in ((facts.api, ContainerSource.API), (facts.states, ContainerSource.STATE_FILE)):
        found = next((r for r in records
                      if _published(r.ports, listener.protocol, listener.address, listener.port)), None)
        if found is not None:
            return found, source
    return None, None


def _member_at(facts: Facts, address: str | None) -> Member | None:
    if address is None:
        return None
    cid = next((cid for cid, held in facts.addresses.items() if address in held), None)
    return facts.members.get(cid) if cid is not None else None


def _stand_in(facts: Facts, listener: Listener) -> StandIn | None:
    """The stand-in holding the listener: one of its owners, or (owners hidden) a docker-proxy whose argv names it."""
    held = next((facts.stand_ins[p.pid] for p in listener.processes if p.pid in facts.stand_ins), None)
    if held is not None or listener.processes:
        return held
    return next((s for s in facts.stand_ins.values() if s.kind == DOCKER_PROXY and s.host_port == listener.port
                 and s.protocol == listener.protocol and s.host_address is not None
                 and same_host(listener.address, s.host_address)), None)


def _rule(facts: Facts, listener: Listener) -> DnatRule | None:
    return next((r for r in facts.dnat if r.engine is not None and r.protocol == listener.protocol
                 and r.port == listener.port and (r.address is None or same_host(listener.address, r.address))), None)


class _Clues(NamedTuple):
    """What ties a listener to a container: its stand-in, the engine's record, the container's processes, a rule."""

    stand: StandIn | None
    record: EngineContainer | None
    source: ContainerSource | None
    member: Member | None
    rule: DnatRule | None


def _by_address(facts: Facts, address: str | None) -> tuple[EngineContainer | None, ContainerSource | None]:
    for records, source in ((facts.api, ContainerSource.API), (facts.states, ContainerSource.STATE_FILE)):
        found = next((r for r in records if address in r.addresses), None)
        if found is not None:
            return found, source
    return None, None


def _clues(listener: Listener, facts: Facts) -> _Clues | None:
    """The facts that tie `listener` to a container; None when none does (it is not a container's port)."""
    stand = _stand_in(facts, listener)
    if stand is None:
        if listener.processes:
            return None
        record, source = _publisher(facts, listener)
        rule = None if record is not None else _rule(facts, listener)
        if record is not None:
            return _Clues(None, record, source, facts.members.get(record.id), None)
        return _Clues(None, None, None, _member_at(facts, rule.to_address), rule) if rule is not None else None
    cid = stand.container_id or facts.port_owners.get(stand.pid)
    record, source = _record(facts, cid)
    if record is None and stand.kind == DOCKER_PROXY:
        record, source = _by_address(facts, stand.container_address)
    if record is None:
        record, source = _publisher(facts, listener)
    rule = _rule(facts, listener) if record is None and stand.container_port is None else None
    if stand.kind == DOCKERD and record is None and rule is None:
        return None  # dockerd's own port (its API on TCP), not a container's
    member = (facts.members.get(cid) if cid else _member_at(facts, stand.container_address)) or (
        facts.members.get(record.id) if record else _member_at(facts, rule.to_address) if rule else None)
    return _Clues(stand, record, source, member, rule)


def _source(stand: StandIn | None, member: Member | None) -> ContainerSource:
    """Without an engine record: conmon's argv names the container; else its cgroup, found through the address
    or namespace the stand-in or rule leads to; else what the stand-in's argv or the rule says."""
    if stand is not None and stand.container_id:
        return ContainerSource.ARGV
    if member is not None:
        return ContainerSource.CGROUP
    return ContainerSource.ARGV if stand is not None else ContainerSource.DNAT


def container_for(listener: Listener, facts: Facts) -> Container | None:
    """The container behind `listener`, or None when it is not a container's port."""
    clues = _clues(listener, facts)
    if clues is None:
        return None
    stand, record, _, member, rule = clues
    mapped = _published(record.ports, listener.protocol, listener.address, listener.port) if record else None
    cid = record.id if record else (stand.container_id if stand else None) or (member.id if member else None)
    engines = [record.engine if record else None, stand.engine if stand else None,
               member.engine if member else None, rule.engine if rule else None]
    container_port = (mapped.container_port if mapped else stand.container_port if stand and stand.container_port
                      else rule.to_port if rule else None)
    address = (stand.container_address if stand and stand.container_address else rule.to_address if rule
               else record.addresses[0] if record and record.addresses else None)
    inside = facts.inside.get(cid) if cid else None
    owners = {pid for s in inside or () if s.port == container_port for pid in s.pids}
    return Container(
        engine=next((engine for engine in engines if engine is not None), Engine.DOCKER),
        id=cid,
        name=record.name if record and record.name else stand.container_name if stand else None,
        image=record.image if record else None,
        container_port=container_port,
        container_address=address,
        state=record.state if record and record.state else "running" if member or stand else None,
        stand_in=stand.kind if stand else None,
        source=clues.source or _source(stand, member),
        processes=tuple(facts.processes[pid] for pid in sorted(owners) if pid in facts.processes),
        inside=None if inside is None or container_port is None else tuple(
            dict.fromkeys(s.address for s in inside if s.port == container_port)),
        inside_ports=None if inside is None else tuple(sorted({item.port for item in inside})),
    )


def _family(address: str) -> Family:
    return Family.IPV6 if ":" in address else Family.IPV4


def _bare(protocol: Protocol, address: str, port: int, facts: Facts) -> Listener:
    """A listener for a port that exists only as a DNAT rule: no socket, no owner."""
    family = _family(address)
    judged = judge(family, address, True if family is Family.IPV6 else None, facts.interfaces)
    return Listener(protocol, family, address, port, judged.dual_stack, judged.exposure, judged.reachable_on, (), ())


def _unheld(facts: Facts, listeners: tuple[Listener, ...], protocols: tuple[Protocol, ...]) -> list[Listener]:
    """Published ports with no socket: from the engines' records, and from the DNAT rules to containers no record
    names."""
    local = {item.address for item in facts.interfaces}
    wanted: dict[tuple[Protocol, str, int], None] = {}
    for record in facts.api:
        gateways = [g for g in record.gateways if g in local]
        for mapped in record.ports if gateways else ():
            if mapped.protocol in protocols and any(_family(g) is _family(mapped.host_address) for g in gateways):
                wanted[(Protocol(mapped.protocol), mapped.host_address, mapped.host_port)] = None
    named = {address for record in facts.api for address in record.addresses}
    for rule in facts.dnat:
        if rule.engine is not None and rule.protocol in protocols and rule.to_address not in named:
            wide = "::" if ":" in rule.to_address else "0.0.0.0"
            wanted[(Protocol(rule.protocol), rule.address or wide, rule.port)] = None
    return [_bare(protocol, address, port, facts) for protocol, address, port in wanted
            if not any(item.protocol == protocol and item.port == port and same_host(item.address, address)
                       for item in listeners)]


def attach(listeners: tuple[Listener, ...], facts: Facts, protocols: tuple[Protocol, ...]) -> tuple[Listener, ...]:
    """`listeners` with their containers named, plus the published ports that have no socket, sorted as before."""
    found = []
    for item in (*listeners, *_unheld(facts, listeners, protocols)):
        container = container_for(item, facts)
        if container is not None:
            note = item.note if item.inodes else NO_SOCKET.format(engine=container.engine)
            item = item._replace(container=container, note=note)
        found.append(item)
    found.sort(key=lambda item: (item.port, item.protocol, item.family, item.address))
    return tuple(found)


def parked(records: tuple[EngineContainer, ...], protocol: Protocol, port: int) -> tuple[Container, ...]:
    """The containers of `records` (not running) that publish `port`, as doctor names them."""
    return tuple(
        Container(record.engine, record.id, record.name, record.image, mapped.container_port, None, record.state,
                  None, ContainerSource.API)
        for record in records for mapped in record.ports if mapped.protocol == protocol and mapped.host_port == port
    )
