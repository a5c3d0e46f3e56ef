"""`portside who TARGET`: who holds a port — processes, their parents, sockets, clients, and the container."""

from __future__ import annotations

import argparse
import time

import portside
from portside.cli.environment import Environment
from portside.cli.render.shapes import who_json
from portside.cli.render.tables import write_json, write_notes
from portside.model import Container, WhoReport
from portside.net.addresses import bracketed, host_port, parse_target


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("who", help="show who holds a port: process tree, sockets, connections")
    parser.add_argument("target", help="62893, :62893, 127.0.0.1:62893, [::1]:62893, localhost:62893 or a URL")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _write_container(env: Environment, container: Container) -> None:
    from portside.containers.describe import SOURCES, label

    out = env.stdout
    short = container.id[:12] if container.id else "?"
    out.write(f"  container: {label(container)}  id {short}  {container.state or '?'}"
              f"  (named through {SOURCES[container.source]})\n")
    port = container.container_port or "?"
    if container.inside is None:
        inside = "not readable"
    else:
        inside = ", ".join(bracketed(address) for address in container.inside) or "nothing listens there"
    held = f"held on this host by {container.stand_in}" if container.stand_in else "no socket here: a DNAT rule alone"
    out.write(f"    to port {port} at {container.container_address or '?'}; inside on: {inside}; {held}\n")
    for info in container.processes:
        out.write(f"    service: pid {info.pid}  {info.name}  {' '.join(info.cmdline) or '?'}\n")


def _write(env: Environment, report: WhoReport) -> None:
    out = env.stdout
    holders = {holder.process.pid: holder for holder in report.holders}
    for item in report.listeners:
        where = item.exposure.value + (", dual-stack" if item.dual_stack else "")
        shown = host_port(item.address, item.port)
        reachable = ", ".join(item.reachable_on) or "nothing"
        out.write(f"{item.protocol.value} {shown}  ({where}; reachable on {reachable})\n")
        if item.note:
            out.write(f"  {item.note}\n")
        if item.container is not None:
            _write_container(env, item.container)
        for info in item.processes:
            holder = holders[info.pid]
            out.write(f"  pid {info.pid}  {info.name}  user {info.user}  started {_when(info.start_time)}\n")
            out.write(f"    cmdline: {' '.join(info.cmdline) or '?'}\n")
            out.write(f"    cwd:     {holder.cwd or '?'}\n")
            chain = " <- ".join(f"{p.pid} {p.name}" for p in holder.parents)
            out.write(f"    parents: {chain or '-'}\n")
    if report.connections:
        out.write(f"connections ({len(report.connections)}):\n")
        for conn in report.connections:
            owner = ", ".join(f"{p.pid} {p.name}" for p in conn.processes) or "owner not visible"
            out.write(f"  {host_port(conn.remote.address, conn.remote.port)} -> {conn.local.port}  {conn.state}  ({owner})\n")


def run(args: argparse.Namespace, env: Environment) -> int:
    report = portside.who(args.target)
    if args.json:
        write_json(env, who_json(report))
    else:
        _write(env, report)
        write_notes(env, report.notes)  # with no listener: only where the port listens in other namespaces
    if not report.listeners:
        host = parse_target(args.target).host
        where = f"{host} port {report.port}" if host else f"port {report.port}"
        env.stderr.write(f"portside: nothing listens on {where} (tcp or udp)\n")
        return 1
    return 0
