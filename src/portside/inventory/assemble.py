"""Turn one adapter `Snapshot` into an `Inventory`: group, attach owners, judge exposure.

Pure. Sockets sharing protocol, address and port (SO_REUSEPORT) become one listener
holding every owner; a socket with no visible owner stays listed with an empty process
list and a note saying why it is empty (the same words for every such socket, so front
ends can group them; `socket_users` says whose they are). A link-local address gets the
zone of the device the socket is bound to (fe80::1%eth0), on listeners and connections
alike. Exposure is judged once per distinct (family, address, v6only, device) — a busy
machine has thousands of sockets but few distinct bindings.
"""

from __future__ import annotations

from portside.inventory.exposure import Judgement, judge
from portside.inventory.snapshot import RawSocket, Snapshot
from portside.model import Connection, Endpoint, Family, Inventory, Listener, ProcessInfo, Protocol
from portside.net.addresses import scoped


def _owner_sets(snapshot: Snapshot) -> dict[tuple[int, ...], tuple[ProcessInfo, ...]]:
    """Each distinct owner pid tuple -> its processes, one shared tuple per set (owners that exited are left
    out). A busy machine has thousands of sockets but few owner sets."""
    processes = snapshot.processes
    found: dict[tuple[int, ...], tuple[ProcessInfo, ...]] = {(): ()}
    for pids in set(snapshot.owners.values()):
        found[pids] = tuple(processes[pid] for pid in pids if pid in processes)
    return found


def _users(socks: tuple[RawSocket, ...] | list[RawSocket], user_names: dict[int, str]) -> tuple[str, ...]:
    return tuple(sorted({user_names.get(s.uid, str(s.uid)) for s in socks if s.uid is not None}))


def _unreadable(snapshot: Snapshot) -> str:
    """'pid 1 (init), pid 7 (x) and 3 more' for the processes whose fds could not be read."""
    def describe(pid: int) -> str:
        info = snapshot.processes.get(pid)
        return f"pid {pid} ({info.name})" if info is not None else f"pid {pid}"

    shown = ", ".join(describe(pid) for pid in snapshot.unreadable_pids[:5])
    extra = len(snapshot.unreadable_pids) - 5
    return shown + (f" and {extra} more" if extra > 0 else "")


def _hidden_note(snapshot: Snapshot) -> str:
    unreadable = snapshot.unreadable_pids
    if len(unreadable) == 1:
        return f"owner not visible: the open files of {_unreadable(snapshot)} could not be read"
    if unreadable:
        return f"owner not visible: the open files of {len(unreadable)} processes could not be read"
    return "owner not visible: no process in this PID namespace holds it (a container or another namespace)"


def _zoned(endpoint: Endpoint, sock: RawSocket, devices: dict[int, str]) -> Endpoint:
    """`endpoint` with the zone of the socket's device when its address is link-local IPv6."""
    if not sock.bound_interface or sock.family is not Family.IPV6 or not endpoint.address.startswith("fe"):
        return endpoint
    zone = devices.get(sock.bound_interface, str(sock.bound_interface))
    return Endpoint(scoped(endpoint.address, zone), endpoint.port)


def _unreadable_note(snapshot: Snapshot) -> str | None:
    if not snapshot.unreadable_pids:
        return None
    count = len(snapshot.unreadable_pids)
    advice = (
        "access was denied even to root (a protected process, such as a sandbox's init)"
        if snapshot.privileged
        else "run as root (or as their user) to see them"
    )
    return (
        f"could not read the open files of {count} process{'es' if count > 1 else ''} ({_unreadable(snapshot)}): "
        f"sockets they hold show no owner; {advice}"
    )


def assemble(snapshot: Snapshot, user_names: dict[int, str]) -> Inventory:
    """Build the inventory from a snapshot; `user_names` maps socket uids to names."""
    owner_sets = _owner_sets(snapshot)
    pids_of = snapshot.owners.get
    devices = dict(snapshot.devices)
    # One socket per key is the rule and SO_REUSEPORT the exception: a group is the socket itself until
    # a second one joins it.
    groups: dict[tuple[int, Protocol, Family, str], RawSocket | list[RawSocket]] = {}
    connections: list[Connection] = []
    for sock in snapshot.sockets:
        if sock.remote is not None:
            connections.append(
                Connection(
                    protocol=sock.protocol,
                    family=sock.family,
                    state=sock.state,
                    local=_zoned(sock.local, sock, devices),
                    remote=_zoned(sock.remote, sock, devices),
                    processes=owner_sets[pids_of(sock.inode, ())],
                    inode=sock.inode,
                )
            )
            continue
        local = sock.local
        address = _zoned(local, sock, devices).address if sock.bound_interface else local.address
        key = (local.port, sock.protocol, sock.family, address)
        group = groups.get(key)
        if group is None:
            groups[key] = sock
        elif isinstance(group, list):
            group.append(sock)
        else:
            groups[key] = [group, sock]

    judged: dict[tuple[Family, str, bool | None, int], Judgement] = {}
    hidden = _hidden_note(snapshot)
    users_of: dict[int | None, tuple[str, ...]] = {}
    listeners: list[Listener] = []
    append = listeners.append
    new = tuple.__new__
    # Sorting the group keys (port, protocol, family, address) orders the listeners.
    for key in sorted(groups):
        port, protocol, family, address = key
        group = groups[key]
        first = group[0] if isinstance(group, list) else group
        binding = (family, address, first.v6only, first.bound_interface)
        judgement = judged.get(binding)
        if judgement is None:
            judgement = judged[binding] = judge(family, address, first.v6only, snapshot.interfaces,
                                                first.bound_interface, snapshot.local_routes)
        if isinstance(group, list):
            seen: dict[int, ProcessInfo] = {}
            for sock in group:
                for info in owner_sets[pids_of(sock.inode, ())]:
                    seen.setdefault(info.pid, info)
            processes = tuple(seen[pid] for pid in sorted(seen))
            inodes: tuple[int, ...] = tuple(sorted(sock.inode for sock in group))
            users = _users(group, user_names)
            accept_queue = sum(s.accept_queue or 0 for s in group) if first.accept_queue is not None else None
        else:
            processes = owner_sets[pids_of(first.inode, ())]
            inodes = (first.inode,)
            known = users_of.get(first.uid)
            if known is None:
                known = users_of[first.uid] = _users((first,), user_names)
            users = known
            accept_queue = first.accept_queue
        note = judgement.note if processes else "; ".join(filter(None, (hidden, judgement.note)))
        append(new(Listener, (
            protocol, family, address, port, judgement.dual_stack, judgement.exposure, judgement.reachable_on,
            processes, inodes, users, accept_queue, first.backlog, note, None,
        )))
    connections.sort(key=lambda item: (item.local.port, item.remote.address, item.remote.port))
    notes = list(snapshot.notes)
    unreadable = _unreadable_note(snapshot)
    if unreadable is not None:
        notes.append(unreadable)
    return Inventory(listeners=tuple(listeners), connections=tuple(connections), notes=tuple(notes))
