"""The portable adapter: psutil, for macOS, Windows and systems without /proc.

psutil reports one pid per socket and no IPV6_V6ONLY flag, so this adapter knows
less than the Linux one; it says so in the snapshot's notes rather than guessing.
"""

from __future__ import annotations

import socket

import psutil

from portside.inventory.snapshot import RawSocket, Snapshot
from portside.model import ConnectionState, Endpoint, Family, InterfaceAddress, ProcessInfo, Protocol

FAMILIES = {socket.AF_INET: Family.IPV4, socket.AF_INET6: Family.IPV6}
KINDS = {Protocol.TCP: "tcp", Protocol.UDP: "udp"}


def _process(pid: int) -> ProcessInfo | None:
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            try:
                cmdline: tuple[str, ...] = tuple(proc.cmdline())
            except psutil.AccessDenied:
                cmdline = ()
            try:
                user: str | None = proc.username()
            except (psutil.AccessDenied, KeyError):
                user = None
            try:
                uid: int | None = proc.uids().real
            except (psutil.AccessDenied, AttributeError):
                uid = None
            return ProcessInfo(
                pid=pid,
                name=proc.name(),
                cmdline=cmdline,
                user=user,
                uid=uid,
                ppid=proc.ppid(),
                start_ticks=None,
                start_time=proc.create_time(),
            )
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:
        return ProcessInfo(pid, "?", (), None, None, None, None, None)


def interfaces() -> tuple[InterfaceAddress, ...]:
    """Every IPv4 and IPv6 address psutil reports, with its interface name."""
    names = {name: index for index, name in socket.if_nameindex()} if hasattr(socket, "if_nameindex") else {}
    found = []
    for name, addresses in psutil.net_if_addrs().items():
        for address in addresses:
            family = FAMILIES.get(address.family)
            if family is not None:
                found.append(InterfaceAddress(family, address.address.split("%", 1)[0], name, names.get(name, 0)))
    return tuple(found)


def _state(protocol: Protocol, listening: bool) -> ConnectionState:
    if not listening:
        return ConnectionState.ESTABLISHED
    return ConnectionState.LISTEN if protocol is Protocol.TCP else ConnectionState.UNCONNECTED


def snapshot(protocols: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP), connections: bool = False) -> Snapshot:
    """Read sockets and owners through psutil.net_connections."""
    sockets: list[RawSocket] = []
    owners: dict[int, tuple[int, ...]] = {}
    notes = ["portable backend (psutil): one owner per socket and no IPV6_V6ONLY flag; dual-stack is assumed for '::'"]
    for protocol in protocols:
        try:
            conns = psutil.net_connections(kind=KINDS[protocol])
        except psutil.AccessDenied:
            notes.append(f"permission denied listing {protocol} sockets; run as an administrator")
            continue
        for conn in conns:
            family = FAMILIES.get(conn.family)
            local, peer = conn.laddr, conn.raddr
            if family is None or not isinstance(local, tuple) or not local:
                continue
            listening = conn.status == psutil.CONN_LISTEN or (protocol is Protocol.UDP and not peer)
            if not listening and not (connections and conn.status in (psutil.CONN_ESTABLISHED, psutil.CONN_NONE)):
                continue
            # psutil gives no socket identity; a synthetic one keeps owners apart.
            ident = -(len(sockets) + 1)
            sockets.append(
                RawSocket(
                    protocol=protocol,
                    family=family,
                    state=_state(protocol, listening),
                    local=Endpoint(str(local[0]), int(local[1])),
                    remote=Endpoint(str(peer[0]), int(peer[1])) if peer and not listening else None,
                    inode=ident,
                    uid=None,
                    v6only=False if family is Family.IPV6 else None,
                )
            )
            if conn.pid:
                owners[ident] = (conn.pid,)
    processes = {pid: info for pid in {p for ps in owners.values() for p in ps} if (info := _process(pid)) is not None}
    return Snapshot(
        sockets=tuple(sockets),
        owners=owners,
        processes=processes,
        interfaces=interfaces(),
        notes=tuple(notes),
    )
