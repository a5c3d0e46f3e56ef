"""`portside routes`: the live NAME.localhost routes, their ports and owners."""

from __future__ import annotations

import argparse
import time

from portside.cli.environment import Environment
from portside.cli.render.tables import plain_table, write_json
from portside.router.control import proxy_port, running
from portside.router.registry import routes
from portside.router.routing import url_of
from portside.router.tls.localca import has_ca


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("routes", help="the live NAME.localhost routes")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    found = routes()
    proxy = running()
    port = proxy.port if proxy else proxy_port()
    https = has_ca()
    now = time.time()
    if args.json:
        write_json(env, {"proxy": {"running": proxy is not None, "port": port, "https": https,
                                   "pid": proxy.pid if proxy else None},
                         "routes": [{"name": r.name, "url": url_of(r.name, port, "http"),
                                     "https_url": url_of(r.name, port, "https") if https else None, "port": r.port,
                                     "kind": r.kind, "owner_pid": r.owner_pid, "created": r.created} for r in found]})
        return 0
    rows = [(url_of(r.name, port, "http"), str(r.port), r.kind, str(r.owner_pid or "-"),
             f"{now - r.created:.0f}s") for r in found]
    env.stdout.write(plain_table(("URL", "PORT", "KIND", "OWNER", "AGE"), rows))
    if https and found:
        env.stdout.write(f"https:// too, e.g. {url_of(found[0].name, port, 'https')} (portside trust: the local CA)\n")
    if proxy is None:
        env.stderr.write("note: the proxy is not running (portside proxy start, or it starts with portside run)\n")
    return 0
