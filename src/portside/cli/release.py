"""`portside release PORT|NAME`: end a lease now; a name keeps its port for next time."""

from __future__ import annotations

import argparse

import portside
from portside.cli.environment import Environment
from portside.cli.render.shapes import release_json
from portside.cli.render.tables import write_json
from portside.net.addresses import parse_port


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("release", help="end the lease on a port or of a name")
    parser.add_argument("key", metavar="PORT|NAME", help="a leased port, or the name it was picked with")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    text = args.key.strip()
    ended = portside.release(parse_port(text) if text.isdigit() else text)
    if args.json:
        write_json(env, release_json(ended))
    else:
        env.stdout.write("".join(f"released {lease.port}" + (f" ({lease.name})" if lease.name else "") + "\n"
                                 for lease in ended))
    return 0
