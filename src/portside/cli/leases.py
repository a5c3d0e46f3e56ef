"""`portside leases`: every lease in the store, with its owner and whether that owner still runs."""

from __future__ import annotations

import argparse
import time

import portside
from portside.cli.environment import Environment
from portside.cli.render.shapes import leases_json
from portside.cli.render.tables import write_json, write_table


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("leases", help="list leased ports: name, owner pid, age, alive?")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def _span(seconds: float) -> str:
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def run(args: argparse.Namespace, env: Environment) -> int:
    found = portside.leases()
    if args.json:
        write_json(env, leases_json(found))
        return 0
    now = time.time()
    rows = [
        (
            str(state.lease.port),
            state.lease.protocol.value,
            state.lease.name or "-",
            str(state.lease.owner_pid),
            _span(now - state.lease.created),
            _span(state.lease.expires - now) if state.lease.expires is not None else "-",
            "yes" if state.alive else "no",
        )
        for state in found
    ]
    write_table(env, ("PORT", "PROTO", "NAME", "OWNER", "AGE", "EXPIRES IN", "ALIVE"), rows)
    return 0
