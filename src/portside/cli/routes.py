"""`portside routes`: the live NAME.localhost routes, their ports and owners."""

from __future__ import annotations

import argparse
import time

import portside
from portside.cli.environment import Environment
from portside.cli.render.shapes import routes_json
from portside.cli.render.tables import plain_table, write_json
from portside.router.control import proxy_port, running
from portside.router.routing import url_of
from portside.router.tls.localca import has_ca


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("routes", help="the live NAME.localhost routes")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    found = portside.routes()
    proxy = running()
    port = proxy.port if proxy else proxy_port()
    https = has_ca()
    now = time.time()
    if args.json:
        write_json(env, routes_json(found, proxy, port, https))
        return 0
    rows = [(url_of(r.name, port, "http"), str(r.port), r.kind, str(r.owner_pid or "-"),
             f"{now - r.created:.0f}s") for r in found]
    env.stdout.write(plain_table(("URL", "PORT", "KIND", "OWNER", "AGE"), rows))
    if https and found:
        env.stdout.write(f"https:// too, e.g. {url_of(found[0].name, port, 'https')} (portside trust: the local CA)\n")
    if proxy is None:
        env.stderr.write("note: the proxy is not running (portside proxy start, or it starts with portside run)\n")
    return 0
