"""What the container adapters read, as plain records for the pure matcher (identify.py). No I/O here.

Every field may be empty: a machine without an engine API, a non-root caller or a
container that exited mid-read leave gaps, and the matcher says what it could not see.
"""

from __future__ import annotations

from portside._typing import NamedTuple
from portside.containers.dnat import DnatRule
from portside.containers.engineapi import EngineContainer
from portside.containers.standins import StandIn
from portside.model import Engine, InterfaceAddress, ProcessInfo


class Member(NamedTuple):
    """A container's processes, found through their cgroups."""

    engine: Engine
    id: str
    pids: tuple[int, ...]


class InsideSocket(NamedTuple):
    """A TCP listener inside a container's network namespace, with the container's processes holding it."""

    address: str
    port: int
    pids: tuple[int, ...]


class Facts(NamedTuple):
    """Everything read about containers for one inventory.

    `api`: the running containers the engines' APIs listed;
    `states`: containers read from engine state files instead; `stand_ins` by pid;
    `members` by container id; `addresses` and `inside` per container id (read through
    its processes); `port_owners`: rootlessport pid -> container id; `dnat`: the nat
    rules; `processes`: the inside sockets' owners; `interfaces`: this namespace's addresses.
    """

    api: tuple[EngineContainer, ...]
    states: tuple[EngineContainer, ...]
    stand_ins: dict[int, StandIn]
    members: dict[str, Member]
    addresses: dict[str, tuple[str, ...]]
    inside: dict[str, tuple[InsideSocket, ...] | None]
    port_owners: dict[int, str]
    dnat: tuple[DnatRule, ...]
    processes: dict[int, ProcessInfo]
    interfaces: tuple[InterfaceAddress, ...]
