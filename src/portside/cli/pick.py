"""`portside pick`: lease free ports; the bare port on stdout so `PORT=$(portside pick)` works.

The lease belongs to the process that ran `portside` (the calling shell, for
`PORT=$(portside pick)`), not to `pick` itself, so the port stays reserved until that
shell exits, the lease is released, or `--ttl` runs out. `--owner PID` names another owner.
"""

from __future__ import annotations

import argparse
import os

import portside
from portside.cli.environment import Environment
from portside.cli.render.shapes import pick_json
from portside.cli.render.tables import write_json
from portside.errors import UsageError
from portside.model import Protocol
from portside.net.durations import parse_duration


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("pick", help="lease free ports outside the kernel's ephemeral range")
    parser.add_argument("--udp", action="store_true", help="free for UDP instead of TCP")
    parser.add_argument("--range", dest="port_range", metavar="LO-HI", help="draw from LO-HI (default 49152-65535)")
    parser.add_argument("--name", action="append", default=[], metavar="NAME",
                        help="a stable port for NAME: the same one next time while it is free (repeatable)")
    parser.add_argument("--count", "-n", default="1", metavar="N", help="how many ports (default 1)")
    parser.add_argument("--ttl", metavar="DURATION", help="end the lease after e.g. 30s, 10m, 2h")
    parser.add_argument("--owner", metavar="PID", help="the process owning the lease (default: the caller)")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def _count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise UsageError(f"invalid --count {text!r}: expected a whole number of 1 or more")
    return int(text)


def _owner(text: str | None) -> int:
    if text is None:
        return os.getppid()
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise UsageError(f"invalid --owner {text!r}: expected a process id")
    return int(text)


def run(args: argparse.Namespace, env: Environment) -> int:
    count = _count(args.count)
    if args.name and args.count != "1":
        raise UsageError("--count and --name do not mix: each --name gets one port")
    leases = portside.pick(
        None if args.name else count,
        names=args.name,
        protocol=Protocol.UDP if args.udp else Protocol.TCP,
        port_range=args.port_range,
        ttl=parse_duration(args.ttl, "--ttl") if args.ttl is not None else None,
        owner=_owner(args.owner),
    )
    if args.json:
        write_json(env, pick_json(leases))
    else:
        env.stdout.write("".join(f"{lease.port}\n" for lease in leases))
    return 0
