"""`portside who TARGET`: who holds a port — processes, their parents, sockets, clients."""

from __future__ import annotations

import argparse
import time

from portside.cli.environment import Environment
from portside.cli.render.shapes import Json, connection_json, listener_json, process_json
from portside.cli.render.tables import write_json, write_notes
from portside.errors import NothingListens
from portside.inventory import ancestry, inventory, process_cwd
from portside.inventory.match import clients, matching
from portside.model import ProcessInfo
from portside.net.addresses import host_port, parse_target
from portside.net.resolve import addresses_of


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("who", help="show who holds a port: process tree, sockets, connections")
    parser.add_argument("target", help="62893, :62893, 127.0.0.1:62893, [::1]:62893, localhost:62893 or a URL")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _detail_json(info: ProcessInfo, cwd: str | None, parents: list[ProcessInfo]) -> Json:
    return {**process_json(info), "cwd": cwd, "parents": [process_json(parent) for parent in parents]}


def run(args: argparse.Namespace, env: Environment) -> int:
    target = parse_target(args.target)
    addresses = addresses_of(target)
    found = inventory(connections=True)
    held = matching(found.listeners, target.port, addresses)
    if not held:
        where = f"{target.host} port {target.port}" if target.host else f"port {target.port}"
        raise NothingListens(f"nothing listens on {where} (tcp or udp)")
    connected = clients(found.connections, held)
    owners = {info.pid: info for item in held for info in item.processes}
    cwds = {pid: process_cwd(pid) for pid in owners}
    parents = {pid: ancestry(info) for pid, info in owners.items()}
    if args.json:
        listeners = []
        for item in held:
            entry = listener_json(item)
            entry["processes"] = [_detail_json(p, cwds[p.pid], parents[p.pid]) for p in item.processes]
            listeners.append(entry)
        write_json(env, {
            "target": args.target,
            "port": target.port,
            "listeners": listeners,
            "connections": [connection_json(c) for c in connected],
            "notes": list(found.notes),
        })
        return 0
    out = env.stdout
    for item in held:
        where = item.exposure.value + (", dual-stack" if item.dual_stack else "")
        shown = host_port(item.address, item.port)
        out.write(f"{item.protocol.value} {shown}  ({where}; reachable on {', '.join(item.reachable_on)})\n")
        if item.note:
            out.write(f"  {item.note}\n")
        for info in item.processes:
            out.write(f"  pid {info.pid}  {info.name}  user {info.user}  started {_when(info.start_time)}\n")
            out.write(f"    cmdline: {' '.join(info.cmdline) or '?'}\n")
            out.write(f"    cwd:     {cwds[info.pid] or '?'}\n")
            chain = " <- ".join(f"{p.pid} {p.name}" for p in parents[info.pid])
            out.write(f"    parents: {chain or '-'}\n")
    if connected:
        out.write(f"connections ({len(connected)}):\n")
        for conn in connected:
            owner = ", ".join(f"{p.pid} {p.name}" for p in conn.processes) or "owner not visible"
            out.write(f"  {conn.remote.address}:{conn.remote.port} -> {conn.local.port}  {conn.state}  ({owner})\n")
    write_notes(env, found.notes)
    return 0
