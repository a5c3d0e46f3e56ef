"""`portside doctor --listen PORT`: why a server cannot bind PORT, with the evidence and the fix."""

from __future__ import annotations

import argparse
import os
import socket

from portside.addresses import parse_port
from portside.cli.environment import Environment
from portside.cli.output import write_json
from portside.doctor import ListenEvidence, diagnose_listen
from portside.errors import InventoryError
from portside.inventory import inventory
from portside.inventory.kernel import kernel_ports, unprivileged_port_start
from portside.model import Protocol, Severity

TCP_TIME_WAIT = 6


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("doctor", help="why a server cannot bind a port: findings with evidence and fixes")
    parser.add_argument("--listen", required=True, metavar="PORT", help="the TCP port a server fails to bind")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def _time_wait(port: int) -> int:
    from portside.inventory import netlink

    count = 0
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            found = netlink.sockets(family, Protocol.TCP, 1 << TCP_TIME_WAIT)
        except (InventoryError, OSError):
            continue
        count += sum(1 for raw in found if raw.local.port == port)
    return count


def listen_evidence(port: int) -> ListenEvidence:
    listeners = inventory(protocols=(Protocol.TCP,)).listeners
    return ListenEvidence(
        port=port,
        holders=tuple(listener for listener in listeners if listener.port == port),
        time_wait=_time_wait(port),
        ephemeral=kernel_ports().ephemeral,
        unprivileged_start=unprivileged_port_start(),
        root=os.geteuid() == 0 if hasattr(os, "geteuid") else False,
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    port = parse_port(args.listen.strip())
    findings = diagnose_listen(listen_evidence(port))
    if args.json:
        write_json(env, {"target": f"listen:{port}", "findings": [
            {"code": f.code, "severity": f.severity.value, "observed": f.observed, "fix": f.fix} for f in findings
        ]})
    else:
        for finding in findings:
            env.stdout.write(f"{finding.severity.value:7}  {finding.code}: {finding.observed}\n")
            env.stdout.write(f"         fix: {finding.fix}\n")
    return 1 if any(finding.severity is Severity.FAULT for finding in findings) else 0
