"""`portside run NAME -- CMD ARGS...`: CMD on a leased port, served as http://NAME.localhost:PROXYPORT/.

router/launch.py leases, routes and starts; this verb prints the URL and waits. Ctrl-C,
SIGTERM and SIGHUP stop CMD and all it started, daemons included; when CMD exits the route
and the lease go. A CMD that exits leaving processes alive (it daemonised) is reported, with
their pids and ports, and they are stopped (exit 1); a port still held after the stop is said.
If this process is killed outright, CMD's guard gets SIGTERM from the kernel and stops them
all, and the route dies with its owner (the proxy prunes it).
"""

from __future__ import annotations

import argparse
import signal

from portside._typing import TYPE_CHECKING
from portside.cli.environment import Environment
from portside.cli.render.shapes import run_json
from portside.cli.render.tables import write_json
from portside.errors import UsageError
from portside.model import ProcessInfo
from portside.net.durations import parse_duration
from portside.net.names import parse_name

if TYPE_CHECKING:
    from portside.process.supervise import Ending, LeftBehind

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("run", help="run a command on a leased port as http://NAME.localhost")
    parser.add_argument("name", help="a DNS label (or dotted labels): api, web.shop")
    parser.add_argument("--replace", action="store_true", help="take the name over from a live run")
    parser.add_argument("--https", action="store_true",
                        help="print the https:// URL (the proxy serves both; makes the local CA on first use)")
    parser.add_argument("--timeout", default="60s", help="how long the command may take to answer (default 60s)")
    parser.add_argument("--json", action="store_true",
                        help="when ready, print one JSON line: name, url, port, pid (docs/json.md)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...; {port} in ARGS becomes the port")
    parser.set_defaults(run=run, parser=parser)


def _split(args: argparse.Namespace) -> tuple[argparse.Namespace, list[str]]:
    """Options given after NAME (`run app --replace -- CMD`) are portside's; everything after `--` is CMD's."""
    words: list[str] = args.command
    if "--" not in words:
        return args, words
    cut = words.index("--")
    if cut:
        args = args.parser.parse_args([*words[:cut], args.name, "--"])
    return args, words[cut + 1 :]


def _left(left: tuple[LeftBehind, ...]) -> str:
    """`pid 4242 (python3) on port 51234, pid 4250 (sh)`."""
    return ", ".join(f"pid {item.process.pid} ({item.process.name})"
                     + (f" on port {', '.join(map(str, item.ports))}" if item.ports else "") for item in left)


def _holders(holders: tuple[ProcessInfo, ...]) -> str:
    if not holders:
        return "a process portside cannot see"
    return ", ".join(f"pid {info.pid} ({info.name})" for info in holders)


def _report(ending: Ending, command: list[str], port: int, env: Environment) -> int:
    """Say what the command left behind and who still holds the port; the exit status."""
    if ending.left:
        env.stderr.write(f"portside: {command[0]} exited with status {ending.status} but left "
                         f"{_left(ending.left)} running; stopped {'it' if len(ending.left) == 1 else 'them'}\n")
    if ending.port_held:
        env.stderr.write(f"portside: port {port} is still held by {_holders(ending.holders)}\n")
    return 1 if ending.left else ending.status


def run(args: argparse.Namespace, env: Environment) -> int:
    args, command = _split(args)
    name = parse_name(args.name)
    if not command:
        raise UsageError("run needs a command after --: portside run NAME -- CMD ARGS...")
    from portside.router.launch import routed  # leasing, the proxy's control, supervise: only when running

    with routed(name, command, replace=args.replace, timeout=parse_duration(args.timeout),
                https=args.https) as (url, service):
        if args.json:
            write_json(env, run_json(name, url, service.port, service.pid))
        else:
            env.stdout.write(url + "\n")
        env.stdout.flush()
        env.stderr.write(f"portside: {name} -> 127.0.0.1:{service.port} (pid {service.pid}); Ctrl-C stops it\n")
        env.stderr.flush()
        return _report(service.wait_or_stop(STOP_SIGNALS), command, service.port, env)
