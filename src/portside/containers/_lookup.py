"""Read what names the containers behind an inventory's ports, then match it (identify.py).

Best source first: the engines' APIs (bounded in time, _engines.py); then one /proc pass
for cgroups, stand-ins and dockerd (_procscan.py). Fallbacks only for the containers no
API named: Docker's state files, the containers' own addresses, rootlessport's child's
namespace, and the DNAT rules (read only then, or when no engine answered at all). The
notes say which sources named the containers and what could not be read.
"""

from __future__ import annotations

import os

from portside.containers import _engines, _nsdiag, _procscan
from portside.containers._statefiles import docker_states
from portside.containers.describe import SOURCES, handle
from portside.containers.dnat import DnatRule, parse_iptables_dnat, parse_nft_dnat
from portside.containers.engineapi import EngineContainer
from portside.containers.facts import Facts, InsideSocket
from portside.containers.identify import attach as identify
from portside.containers.names import PROXIES, ROOTLESSPORT
from portside.containers.standins import StandIn, stand_in
from portside.inventory import process_info
from portside.inventory.snapshot import Snapshot
from portside.model import (
    Container,
    ContainerSource,
    Engine,
    ForeignListener,
    Inventory,
    Listener,
    ProcessInfo,
    Protocol,
)


def _rootless_owners(stand_ins: dict[int, StandIn], scanned: _procscan.Scan) -> dict[int, str]:
    """rootlessport pid -> the container whose network namespace its child lives in."""
    ports = [pid for pid, found in stand_ins.items() if found.kind == ROOTLESSPORT]
    if not ports:
        return {}
    by_netns = {}
    for member in scanned.members.values():
        namespace = next((ns for pid in member.pids if (ns := _procscan.netns(pid)) is not None), None)
        if namespace is not None:
            by_netns[namespace] = member.id
    owners = {}
    for parent in ports:
        for child in _procscan.children(parent):
            namespace = _procscan.netns(child)
            if namespace in by_netns:
                owners[parent] = by_netns[namespace]
    return owners


def _dnat() -> tuple[tuple[DnatRule, ...], list[str]]:
    from portside.doctor._ruleset import nat_listings

    if os.geteuid() != 0:
        return (), ["ports published by DNAT alone may be missing: reading the nat table needs root"]
    listings, notes = nat_listings()
    rules = [rule for kind, text in listings
             for rule in (parse_nft_dnat(text) if kind == "nft" else parse_iptables_dnat(text))]
    said = [f"ports published by DNAT alone may be missing: {note}" for note in notes]
    return tuple(dict.fromkeys(rules)), said


def facts(snapshot: Snapshot, owners: dict[int, ProcessInfo]) -> tuple[Facts, list[str], _engines.Asked]:
    """Everything the adapters can read about the containers here; `owners` are the stand-ins holding sockets."""
    asked = _engines.running()
    scanned = _procscan.scan()
    stand_ins = {found.pid: found for found in scanned.stand_ins}
    for info in owners.values():
        held = stand_in(info)
        if held is not None:
            stand_ins.setdefault(held.pid, held)
    notes = list(asked.notes)
    named = {record.id for record in asked.containers}
    unnamed = [cid for cid in scanned.members if cid not in named]
    states: tuple[EngineContainer, ...] = ()
    if Engine.DOCKER not in asked.engines() and scanned.dockerds:
        docker = [cid for cid in unnamed if scanned.members[cid].engine is Engine.DOCKER]
        if docker:
            states, said = docker_states(list(scanned.dockerds), docker)
            notes += said
    rules: tuple[DnatRule, ...] = ()
    if unnamed or not asked.answered:
        rules, said = _dnat()
        notes += said
    diag = _nsdiag.listeners_in([member.pids[0] for member in scanned.members.values()]) if scanned.members else None
    inside: dict[str, tuple[InsideSocket, ...] | None] = {
        cid: _procscan.inside(member, diag.get(member.pids[0]) if diag else None)
        for cid, member in scanned.members.items()}
    holders = sorted({pid for found in inside.values() for item in found or () for pid in item.pids})
    processes = {pid: seen for pid in holders if (seen := process_info(pid)) is not None}
    return Facts(
        api=asked.containers,
        states=states,
        stand_ins=stand_ins,
        members=scanned.members,
        addresses={cid: _procscan.addresses(scanned.members[cid]) for cid in unnamed},
        inside=inside,
        port_owners=_rootless_owners(stand_ins, scanned),
        dnat=rules,
        processes=processes,
        interfaces=snapshot.interfaces,
    ), notes, asked


def _summary(named: list[Container], asked: _engines.Asked) -> list[str]:
    """Which sources named the containers, and what the fallbacks could not tell."""
    notes = []
    if any(item.source is ContainerSource.API for item in named):
        where = ", ".join(f"{engine} at {path}" for engine, path in asked.answered)
        notes.append(f"containers named through the engine API ({where})")
    fallbacks = [item for item in named if item.source is not ContainerSource.API]
    if fallbacks:
        best = list(ContainerSource)
        used = ", ".join(dict.fromkeys(SOURCES[c.source] for c in sorted(fallbacks, key=lambda c: best.index(c.source))))
        unknown = [handle(item) or item.stand_in or "?" for item in fallbacks
                   if item.name is None or item.image is None or item.container_port is None]
        missing = (f"; without it, the name, image or port inside is not known for {', '.join(dict.fromkeys(unknown))}"
                   if unknown else "")
        notes.append(f"containers named without the engine API, from {used}{missing}")
    return notes


def _untied(listeners: tuple[Listener, ...], read: Facts) -> list[str]:
    """A note on the stand-ins that hold ports this caller cannot tie to them (another user's open files)."""
    tied = {p.pid for item in listeners for p in item.processes}
    hidden = [item for item in listeners if not item.processes and item.container is None]
    # Named ones first, the newest (highest pid) first among them: at most five are shown, and a stand-in whose
    # container is named says the most; /proc's pid order would show the oldest and cut off the one just started.
    loose = sorted((s for s in read.stand_ins.values() if s.pid not in tied and s.kind in PROXIES),
                   key=lambda s: (s.container_name is None, -s.pid))
    if not hidden or not loose:
        return []
    shown = ", ".join(f"{s.kind} (pid {s.pid}{f', container {s.container_name}' if s.container_name else ''})"
                      for s in loose[:5])
    more = f" and {len(loose) - 5} more" if len(loose) > 5 else ""
    return [(f"containers' ports could not be told from other hidden sockets: {shown}{more} hold ports whose "
            "sockets this user may not see (their open files, the engine's API and the nat table need root or "
            "the engine's group)")]


def attach(found: Inventory, snapshot: Snapshot, owners: dict[int, ProcessInfo],
           protocols: tuple[Protocol, ...]) -> Inventory:
    """`found` with the containers behind its ports named, the ports published without a socket added, and notes."""
    read, notes, asked = facts(snapshot, owners)
    listeners = identify(found.listeners, read, protocols)
    named = [item.container for item in listeners if item.container is not None]
    return found._replace(listeners=listeners,
                          notes=(*found.notes, *notes, *_summary(named, asked), *_untied(listeners, read)))


def in_namespaces(found: tuple[ForeignListener, ...]) -> tuple[ForeignListener, ...]:
    """`found` with the container each namespace belongs to, named through the API where one answers."""
    owners = {item.pid: _procscan.container_of_pid(item.pid) for item in found}
    if not any(owners.values()):
        return found
    records = {record.id: record for record in _engines.running().containers}
    named = []
    for item in found:
        owner = owners[item.pid]
        if owner is None:
            named.append(item)
            continue
        engine, cid = owner
        record = records.get(cid)
        named.append(item._replace(container=Container(
            engine=record.engine if record else engine, id=cid, name=record.name if record else None,
            image=record.image if record else None, container_port=item.port, container_address=None,
            state=record.state if record else "running", stand_in=None,
            source=ContainerSource.API if record else ContainerSource.CGROUP,
        )))
    return tuple(named)
