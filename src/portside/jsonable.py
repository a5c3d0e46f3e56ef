"""The `--json` contract: model objects to plain dicts with stable keys (docs/json.md).

Processes are converted once per pid and shared, since a busy machine repeats the same
few owners across thousands of listeners.
"""

from __future__ import annotations

from portside.model import Connection, Endpoint, Inventory, Listener, ProcessInfo

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


def inventory_json(inventory: Inventory, with_connections: bool = False) -> Json:
    items: tuple[Listener | Connection, ...] = (*inventory.listeners, *inventory.connections)
    infos = {p.pid: p for item in items for p in item.processes}
    shared = _Processes(infos)
    result: Json = {"listeners": [listener_json(item, shared) for item in inventory.listeners]}
    if with_connections:
        result["connections"] = [connection_json(item, shared) for item in inventory.connections]
    result["notes"] = list(inventory.notes)
    return result
