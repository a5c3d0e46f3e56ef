"""`portside proxy start|stop|status|serve`: the NAME.localhost reverse proxy.

It listens on 127.0.0.1 and ::1 only (port 7355, or PORTSIDE_PROXY_PORT); `--lan` is the
one way to listen on every address, and says so. `run` and `alias` start it on demand. Its
limits and timeouts come from PORTSIDE_PROXY_* variables (router/limits.py), checked here
before a proxy is started so a bad value is one line and exit 2.
"""

from __future__ import annotations

import argparse
import errno
import os

from portside.cli.environment import Environment
from portside.cli.render.shapes import proxy_down_json, proxy_json
from portside.cli.render.tables import write_json
from portside.errors import PortsideError
from portside.net.addresses import parse_port
from portside.router import control
from portside.router.limits import Limits, from_environment
from portside.router.tls.localca import ensure_ca, has_ca

LOOPBACK_HOSTS = ("127.0.0.1", "::1")
LAN_HOSTS = ("0.0.0.0", "::")


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("proxy", help="the NAME.localhost reverse proxy: start, stop, status, serve")
    parser.add_argument("action", choices=("start", "stop", "status", "serve"),
                        help="serve runs it in the foreground; start runs it in the background")
    parser.add_argument("--port", help=f"listen on this port (default {control.DEFAULT_PORT} or PORTSIDE_PROXY_PORT)")
    parser.add_argument("--https", action="store_true", help="make the local CA now if there is none (https:// works "
                        "on the same port as soon as a CA exists)")
    parser.add_argument("--lan", action="store_true", help="listen on every address, reachable from other machines")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def _show(env: Environment, as_json: bool, record: control.ProxyRecord, state: str) -> int:
    url = record.url("NAME")
    https_url = record.url("NAME", https=True) if has_ca() else None
    if as_json:
        write_json(env, proxy_json(record, state, https_url is not None))
    else:
        also = f" and {https_url}" if https_url else ""
        env.stdout.write(f"proxy {state}: {url}{also} (pid {record.pid}, on {', '.join(record.hosts)})\n")
    return 0


def _serve(port: int, lan: bool, limits: Limits, env: Environment) -> int:
    from portside.router import server

    hosts = LAN_HOSTS if lan else LOOPBACK_HOSTS
    if lan:
        env.stderr.write("WARNING: --lan: the proxy listens on every address; other machines can reach your "
                         "services through it\n")
    try:
        server.run(port, hosts, ready=lambda: control.write_record(port, hosts), limits=limits)
    except OSError as error:
        reason = "in use" if error.errno == errno.EADDRINUSE else error.strerror
        raise PortsideError(f"cannot listen on port {port}: {reason} (choose another with PORTSIDE_PROXY_PORT)"
                            ) from None
    finally:
        control.clear_record()
    return 0


def run(args: argparse.Namespace, env: Environment) -> int:
    port = parse_port(args.port.strip()) if args.port else control.proxy_port()
    if args.action == "serve":
        limits = from_environment(os.environ)
        if args.https:
            ensure_ca()
        return _serve(port, args.lan, limits, env)
    if args.action == "start":
        from_environment(os.environ)  # the proxy it starts reads them too: a bad value is refused here, not there
        record, started = control.start(port, lan=args.lan, https=args.https)
        return _show(env, args.json, record, "started" if started else "running")
    current = control.running()
    if args.action == "status" and current is not None:
        return _show(env, args.json, current, "running")
    stopped = control.stop() is not None if args.action == "stop" else False
    if args.json:
        write_json(env, proxy_down_json("stopped" if stopped else "not running", port))
    else:
        env.stdout.write("proxy stopped\n" if stopped else "proxy not running\n")
    return 0
