"""`portside wait TARGET...`: until every target accepts (or, with --closed, refuses) connections."""

from __future__ import annotations

import argparse

import portside
from portside._typing import TYPE_CHECKING
from portside.cli.environment import Environment
from portside.cli.render.shapes import wait_json
from portside.cli.render.tables import write_json
from portside.errors import UsageError, WaitTimeout
from portside.net.durations import parse_duration

if TYPE_CHECKING:
    from portside.probing.wait import Waited

DEFAULT_TIMEOUT = "30s"


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("wait", help="wait until targets accept connections (or stop accepting)")
    parser.add_argument("targets", nargs="+", metavar="TARGET", help="62893, localhost:3000, http://api.localhost/x")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--closed", action="store_true", help="wait until nothing accepts on any target")
    mode.add_argument("--http", nargs="?", const="", metavar="STATUS",
                      help="wait until GET answers STATUS (default: any 2xx or 3xx)")
    parser.add_argument("--timeout", default=DEFAULT_TIMEOUT, metavar="DURATION",
                        help=f"give up after this long, exit 1 (default {DEFAULT_TIMEOUT}; 0 waits forever)")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def _expectation(text: str | None) -> bool | int | None:
    if text is None:
        return None
    if text == "":
        return True
    if not text.isascii() or not text.isdigit() or not 100 <= int(text) <= 599:
        raise UsageError(f"invalid --http status {text!r}: expected an HTTP status code from 100 to 599")
    return int(text)


def _line(waited: Waited, closed: bool) -> str:
    state = "closed" if closed else f"accepting on {waited.address}"
    return f"{waited.text}: {state} after {waited.elapsed:.3f} s\n"


def run(args: argparse.Namespace, env: Environment) -> int:
    http = _expectation(args.http)
    timeout = parse_duration(args.timeout, "--timeout")
    results = portside.wait_for(args.targets, timeout=timeout or None, closed=args.closed, http=http)
    if args.json:
        write_json(env, wait_json(results))
    else:
        env.stdout.write("".join(_line(w, args.closed) for w in results if w.ready))
    env.stdout.flush()
    late = [w for w in results if not w.ready]
    if late and not args.json:
        from portside.probing.wait import describe

        status = "HTTP 2xx/3xx" if http is True else f"HTTP {http}"
        wanted = "close" if args.closed else f"answer {status}" if http is not None else "accept"
        raise WaitTimeout(f"timed out after {timeout:g} s waiting for "
                          + "; ".join(f"{w.text} to {wanted} (last seen: {describe(w)})" for w in late))
    return 1 if late else 0
