"""`portside ls`: every listening socket, sorted by port, with every owner and its exposure.

Listeners that carry the same note (owners hidden from a non-root caller, an address no
interface holds) are named in one note line, not one line each. A port asked for with
`--port` that listens only in another network namespace gets a hint saying where.
"""

from __future__ import annotations

import argparse

import portside
from portside.cli.environment import Environment
from portside.cli.render.shapes import inventory_text
from portside.cli.render.tables import write_notes, write_table
from portside.inventory import elsewhere_notes
from portside.inventory.selection import Selection, protocols, select
from portside.model import Connection, ForeignListener, Inventory, Listener, Protocol
from portside.net.addresses import bracketed, host_port, parse_port


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("ls", help="list listening sockets and who owns them")
    parser.add_argument("--tcp", action="store_true", help="TCP only")
    parser.add_argument("--udp", action="store_true", help="UDP only")
    parser.add_argument("--port", action="append", default=[], metavar="PORT", help="only this port (repeatable)")
    parser.add_argument("--pid", action="append", type=_pid, default=[], metavar="PID", help="only sockets of this process")
    parser.add_argument("--process", action="append", default=[], metavar="NAME", help="only processes with this name")
    parser.add_argument("--exposed", action="store_true", help="only listeners reachable beyond loopback")
    parser.add_argument("--connections", action="store_true", help="also list established connections and their peers")
    parser.add_argument("--namespaces", action="store_true",
                        help="also list TCP listeners inside every other network namespace (containers, ip netns)")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.add_argument("--backend", choices=("linux", "portable"), help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def _pid(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a process id (a positive whole number)")
    return int(text)


def _owners(item: Listener | Connection) -> tuple[str, str, str]:
    if not item.processes:
        return "-", "?", "-"
    pids = ",".join(str(p.pid) for p in item.processes)
    names = ",".join(dict.fromkeys(p.name for p in item.processes))
    users = ",".join(dict.fromkeys(p.user or "?" for p in item.processes))
    return pids, names, users


def _container(item: Listener) -> str:
    """'docker web1:8080' — engine, container and the port inside; '-' for a port that is no container's."""
    from portside.containers.describe import handle

    found = item.container
    if found is None:
        return "-"
    return f"{found.engine} {handle(found) or '?'}:{found.container_port or '?'}"


def listener_rows(listeners: tuple[Listener, ...]) -> list[list[str]]:
    """One row per listener; a CONTAINER column is added when some listener is a container's."""
    rows = []
    containers = any(item.container is not None for item in listeners)
    for item in listeners:
        pids, names, users = _owners(item)
        if item.container is not None and not item.inodes:
            names = "(DNAT only)"
        where = item.exposure.value + (" (dual-stack)" if item.dual_stack else "")
        row = [item.protocol.value, bracketed(item.address), str(item.port), where, pids, names, users]
        rows.append([*row, _container(item)] if containers else row)
    return rows


def namespace_rows(listeners: tuple[ForeignListener, ...]) -> list[list[str]]:
    from portside.containers.describe import handle

    rows = []
    for item in listeners:
        found = item.container
        container = f"{found.engine} {handle(found) or '?'}" if found is not None else "-"
        rows.append([item.namespace, bracketed(item.address), str(item.port), str(item.pid), item.process, container])
    return rows


def connection_rows(connections: tuple[Connection, ...]) -> list[list[str]]:
    rows = []
    for item in connections:
        pids, names, users = _owners(item)
        local = host_port(item.local.address, item.local.port)
        remote = host_port(item.remote.address, item.remote.port)
        rows.append([item.protocol.value, local, remote, item.state, pids, names, users])
    return rows


def run(args: argparse.Namespace, env: Environment) -> int:
    selection = Selection(
        ports=frozenset(parse_port(text) for text in args.port),
        pids=frozenset(args.pid),
        names=frozenset(args.process),
        exposed_only=args.exposed,
    )
    found: Inventory = select(
        portside.take_inventory(protocols=protocols(tcp=args.tcp, udp=args.udp), connections=args.connections, backend=args.backend,
                                namespaces=args.namespaces),
        selection,
    )
    if selection.ports and Protocol.TCP in protocols(tcp=args.tcp, udp=args.udp):
        missing = sorted(selection.ports - {item.port for item in found.listeners})
        found = found._replace(notes=found.notes + elsewhere_notes(missing))
    if args.json:
        env.stdout.write(inventory_text(found, with_connections=args.connections, with_namespaces=args.namespaces))
        env.stdout.write("\n")
        return 0
    headers = ["PROTO", "ADDRESS", "PORT", "EXPOSURE", "PID", "PROCESS", "USER"]
    if any(item.container is not None for item in found.listeners):
        headers.append("CONTAINER")
    write_table(env, headers, listener_rows(found.listeners))
    if args.connections:
        env.stdout.write("\n")
        write_table(env, ["PROTO", "LOCAL", "PEER", "STATE", "PID", "PROCESS", "USER"], connection_rows(found.connections))
    if args.namespaces:
        env.stdout.write("\n")
        write_table(env, ["NAMESPACE", "ADDRESS", "PORT", "PID", "PROCESS", "CONTAINER"], namespace_rows(found.namespaces))
    write_notes(env, [*found.notes, *grouped_notes(found.listeners)])
    return 0


SHOWN = 3


def grouped_notes(listeners: tuple[Listener, ...]) -> list[str]:
    """One line per distinct listener note, naming how many listeners carry it, which, and (when their owners
    are hidden) whose sockets they are."""
    groups: dict[str, list[Listener]] = {}
    for item in listeners:
        if item.note:
            groups.setdefault(item.note, []).append(item)
    lines = []
    for note, items in groups.items():
        names = [f"{host_port(i.address, i.port)}/{i.protocol.value}" for i in items]
        users = sorted({user for i in items if not i.processes for user in i.socket_users})
        whose = f" of user{'s' if len(users) > 1 else ''} {', '.join(users)}" if users else ""
        if len(items) == 1:
            lines.append(f"{names[0]}{whose}: {note}")
            continue
        more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
        lines.append(f"{len(items)} listeners{whose} ({', '.join(names[:SHOWN])}{more}): {note}")
    return lines

