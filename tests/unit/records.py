"""Hand-built records for the pure judges' tables: processes, listeners, connections with plain defaults."""

from __future__ import annotations

from portside.model import Connection, Endpoint, Exposure, Family, Listener, ProcessInfo, Protocol
from portside.net.addresses import AddressKind, classify


def process(pid: int, name: str = "python3", *, user: str | None = "dev", uid: int | None = 1000,
            ppid: int | None = 1) -> ProcessInfo:
    return ProcessInfo(pid, name, (name,), user, uid, ppid, start_ticks=pid * 10, start_time=1_700_000_000.0)


def family_of(address: str) -> Family:
    return Family.IPV6 if ":" in address else Family.IPV4


def listener(address: str, port: int, *processes: ProcessInfo, protocol: Protocol = Protocol.TCP,
             dual_stack: bool = False, inodes: tuple[int, ...] | None = None, accept_queue: int | None = None,
             backlog: int | None = None, note: str | None = None) -> Listener:
    """A listener judged as the inventory would: loopback, interface or (wildcards) all."""
    kind = classify(address)
    exposure = {AddressKind.LOOPBACK: Exposure.LOOPBACK, AddressKind.WILDCARD: Exposure.ALL}.get(
        kind, Exposure.INTERFACE)
    return Listener(protocol, family_of(address), address, port, dual_stack, exposure, (address,), processes,
                    inodes if inodes is not None else (port * 10,), (), accept_queue, backlog, note)


def connection(local: tuple[str, int], remote: tuple[str, int], *processes: ProcessInfo, inode: int = 1,
               protocol: Protocol = Protocol.TCP) -> Connection:
    return Connection(protocol, family_of(local[0]), "ESTABLISHED", Endpoint(*local), Endpoint(*remote), processes,
                      inode)
