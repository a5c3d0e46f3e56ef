"""`portside exporter`: serves this machine's listeners at /metrics for Prometheus to scrape.

Each scrape takes a fresh sample (`portside.export.sampler`); one sampler lives as long as the
server, so `portside_listener_bytes_total` counts up from the exporter's start. It listens on
127.0.0.1:9917 unless `--listen` says otherwise; an address other than loopback needs
`--allow-remote` and gets a warning, since the listing tells whoever can reach it what runs here.
Scrapes are answered one at a time (the sampler is not shared between threads).
"""

from __future__ import annotations

import argparse
import errno
import ipaddress

from portside.cli.environment import Environment
from portside.errors import PortsideError, UsageError
from portside.net.addresses import bracketed, parse_target

DEFAULT_LISTEN = "127.0.0.1:9917"


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("exporter", help="serve the listeners at /metrics for Prometheus to scrape")
    parser.add_argument("--listen", default=DEFAULT_LISTEN, metavar="ADDR:PORT",
                        help=f"address and port to serve on (default {DEFAULT_LISTEN}; loopback only "
                             "unless --allow-remote)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow an address other machines can reach (they learn what runs here)")
    parser.add_argument("--no-traffic", action="store_true", help="do not read connections and bytes per listener")
    parser.set_defaults(run=run)


def listen_address(text: str, allow_remote: bool) -> tuple[str, int, bool]:
    """(address, port, remote) from `--listen`; raises UsageError unless it is a literal IP and port,
    and for an address beyond loopback without `allow_remote`."""
    target = parse_target(text)
    if target.host is None:
        raise UsageError(f"invalid --listen {text!r}: expected ADDR:PORT, like 127.0.0.1:9917 or [::1]:9917")
    try:
        ip = ipaddress.ip_address(target.host.strip("[]"))
    except ValueError:
        raise UsageError(f"invalid --listen {text!r}: {target.host!r} is not an IP address") from None
    remote = not ip.is_loopback
    if remote and not allow_remote:
        raise UsageError(f"--listen {text}: {ip} is reachable from other machines; add --allow-remote to serve "
                         "the listing there")
    return str(ip), target.port, remote


def run(args: argparse.Namespace, env: Environment) -> int:
    address, port, remote = listen_address(args.listen, args.allow_remote)
    from portside.export.server import serve

    if remote:
        env.stderr.write(f"WARNING: --allow-remote: /metrics on {bracketed(address)}:{port} tells whoever can reach "
                         "it what runs on this machine\n")

    def ready() -> None:
        env.stderr.write(f"portside exporter: serving http://{bracketed(address)}:{port}/metrics\n")
        env.stderr.flush()

    try:
        serve(address, port, traffic=not args.no_traffic, ready=ready)
    except OSError as error:
        reason = "in use" if error.errno == errno.EADDRINUSE else error.strerror
        raise PortsideError(f"cannot listen on {bracketed(address)}:{port}: {reason}") from None
    return 0


