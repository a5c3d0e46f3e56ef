"""`portside alias NAME PORT`: route NAME.localhost to a service started elsewhere (a container, another tool)."""

from __future__ import annotations

import argparse

from portside.cli.environment import Environment
from portside.cli.render.shapes import alias_json, alias_removed_json
from portside.cli.render.tables import write_json
from portside.errors import UsageError
from portside.model import RouteKind
from portside.net.addresses import parse_port
from portside.net.names import parse_name
from portside.router.control import start
from portside.router.registry import add_route, remove_route


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("alias", help="route NAME.localhost to a port served by something else")
    parser.add_argument("name", help="a DNS label (or dotted labels): api, web.shop")
    parser.add_argument("port", nargs="?", help="the local port to route to")
    parser.add_argument("--remove", action="store_true", help="remove the alias instead")
    parser.add_argument("--replace", action="store_true", help="take the name over from a live portside run")
    parser.add_argument("--https", action="store_true", help="print the https:// URL (makes the local CA on first use)")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    name = parse_name(args.name)
    if args.remove:
        if args.port is not None:
            raise UsageError("alias --remove takes only the NAME")
        if not remove_route(name):
            raise UsageError(f"no route named {name}")
        if args.json:
            write_json(env, alias_removed_json(name))
        else:
            env.stdout.write(f"removed {name}.localhost\n")
        return 0
    if args.port is None:
        raise UsageError("alias needs NAME and PORT (or NAME --remove)")
    port = parse_port(args.port.strip())
    route = add_route(name, port, kind=RouteKind.ALIAS, replace=args.replace)
    proxy, _ = start(https=args.https)
    url = proxy.url(route.name, args.https)
    if args.json:
        write_json(env, alias_json(route, url))
    else:
        env.stdout.write(f"{url} -> 127.0.0.1:{route.port}\n")
    return 0
