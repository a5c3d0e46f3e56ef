"""`portside run NAME -- CMD ARGS...`: CMD on a leased port, served as http://NAME.localhost:PROXYPORT/.

The port comes from `pick`'s allocator (a named lease: the same port next time while it
is free) and the route NAME -> port is written to the store before CMD starts, both owned
by this process; CMD gets PORT and HOST=127.0.0.1 (and the flags of dev servers that
ignore PORT, portflags.py). Ctrl-C, SIGTERM and SIGHUP stop CMD and its children; when CMD
exits the route and the lease go. If this process is killed outright, CMD gets SIGTERM
from the kernel, and the route dies with its owner (the proxy prunes it).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
from contextlib import suppress

from portside.allocate import pick, release
from portside.cli.environment import Environment
from portside.durations import parse_duration
from portside.errors import LeaseHeld, UsageError
from portside.model import Lease
from portside.names import parse_name
from portside.portflags import with_port_flags
from portside.router.control import start
from portside.routes import RUN, add_route, remove_route
from portside.supervise import Service, start_service

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("run", help="run a command on a leased port as http://NAME.localhost")
    parser.add_argument("name", help="a DNS label (or dotted labels): api, web.shop")
    parser.add_argument("--replace", action="store_true", help="take the name over from a live run")
    parser.add_argument("--timeout", default="60s", help="how long the command may take to answer (default 60s)")
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


def _lease(name: str, replace: bool) -> Lease:
    try:
        (lease,) = pick(names=[name])
    except LeaseHeld:
        if not replace:
            raise
        (lease,) = pick()
    return lease


def _supervise(service: Service) -> int:
    """Wait for the command; on a stop signal, stop it and its children. The exit status, shell-style."""
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, _: received.append(signum)) for signum in STOP_SIGNALS}
    try:
        while not received:
            with suppress(subprocess.TimeoutExpired):
                status = service.process.wait(0.1)
                service.stop(grace=2.0)
                return status if status >= 0 else 128 - status
        service.stop()
        return 128 + received[0]
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run(args: argparse.Namespace, env: Environment) -> int:
    args, command = _split(args)
    name = parse_name(args.name)
    if not command:
        raise UsageError("run needs a command after --: portside run NAME -- CMD ARGS...")
    timeout = parse_duration(args.timeout)
    me = os.getpid()
    lease = _lease(name, args.replace)
    try:
        add_route(name, lease.port, kind=RUN, owner=me, replace=args.replace)
        try:
            proxy, _ = start()
            service = start_service(with_port_flags(command, lease.port), port=lease.port, timeout=timeout,
                                    die_with_parent=True)
            env.stdout.write(f"{proxy.scheme}://{name}.localhost:{proxy.port}/\n")
            env.stdout.flush()
            env.stderr.write(f"portside: {name} -> 127.0.0.1:{lease.port} (pid {service.pid}); Ctrl-C stops it\n")
            env.stderr.flush()
            return _supervise(service)
        finally:
            remove_route(name, owner=me)
    finally:
        with suppress(UsageError):
            release(lease.port, owner=me)
