"""`portside watch`: the machine's services, live — a TUI on a terminal, else a stream of events.

On a terminal (stdin and stdout) it runs the Textual app of `portside.tui`; with `--json` it
prints one event per line (NDJSON), flushed as it happens; piped without `--json`, one line of
text per event. `--exec CMD` runs a command per event (`portside.monitor.hooks`). Textual is
imported only for the TUI, the stream's modules only for the stream: `--help` pays for neither.
"""

from __future__ import annotations

import argparse
import json

import portside
from portside.cli.environment import Environment
from portside.errors import UsageError
from portside.inventory.selection import protocols
from portside.net.durations import parse_duration


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("watch", help="follow listeners live: a TUI on a terminal, or a stream of events (--json)")
    parser.add_argument("--interval", default="1s", help="time between samples: 1s, 500ms, 2 (default 1s)")
    parser.add_argument("--json", action="store_true", help="one JSON event per line (NDJSON, docs/json.md)")
    parser.add_argument("--exposed", action="store_true", help="only listeners reachable beyond loopback")
    parser.add_argument("--exec", metavar="CMD", help="run CMD (with /bin/sh) per event: the event's JSON on stdin "
                                                     "and in PORTSIDE_JSON, its fields in PORTSIDE_* variables")
    parser.add_argument("--exec-timeout", default="10s", metavar="DURATION",
                        help="kill an --exec command still running after this (default 10s)")
    parser.add_argument("--count", type=_count, metavar="N", help="stop after N events (notes not counted)")
    parser.add_argument("--duration", metavar="DURATION", help="stop after this long: 30s, 10m")
    parser.add_argument("--tcp", action="store_true", help="TCP only")
    parser.add_argument("--udp", action="store_true", help="UDP only")
    parser.add_argument("--no-traffic", action="store_true", help="no connection counts or bytes per listener")
    parser.set_defaults(run=run)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count of events (a positive whole number)")
    return int(text)


def _fileno(stream: object) -> int | None:
    """The descriptor behind a stream, for a child's stdout; None when it has none (tests' StringIO)."""
    try:
        number = stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None
    return number if isinstance(number, int) else None


def run(args: argparse.Namespace, env: Environment) -> int:
    interval = parse_duration(args.interval, "--interval")
    if interval <= 0:
        raise UsageError(f"invalid --interval {args.interval!r}: it must be more than 0 seconds")
    duration = None if args.duration is None else parse_duration(args.duration, "--duration")
    exec_timeout = parse_duration(args.exec_timeout, "--exec-timeout")
    if exec_timeout <= 0:
        raise UsageError(f"invalid --exec-timeout {args.exec_timeout!r}: it must be more than 0 seconds")
    if args.exec is not None and not args.exec.strip():
        raise UsageError("--exec needs a command")
    terminal = env.stdout_isatty and env.stdin_isatty
    if terminal and not args.json and args.exec is None:
        if args.count is not None:
            raise UsageError("--count needs a stream of events: add --json (the TUI runs until q)")
        from portside.tui.app import run_app

        return run_app(interval=interval, exposed=args.exposed, traffic=not args.no_traffic,
                       protocols=protocols(tcp=args.tcp, udp=args.udp), duration=duration)
    return _stream(args, env, interval, duration, exec_timeout)


def _stream(args: argparse.Namespace, env: Environment, interval: float, duration: float | None,
            exec_timeout: float) -> int:
    from portside.cli.render.events import describe, event_line
    from portside.cli.render.shapes import event_json
    from portside.monitor.events import EventKind
    from portside.monitor.hooks import Hook

    def report(text: str) -> None:
        env.stderr.write(f"portside: {text}\n")
        env.stderr.flush()

    hook = None
    if args.exec is not None:
        hook = Hook(args.exec, timeout=exec_timeout, report=report,
                    output=_fileno(env.stderr if args.json else env.stdout))
    events = portside.watch(interval=interval, exposed=args.exposed, traffic=not args.no_traffic,
                            protocols=protocols(tcp=args.tcp, udp=args.udp), duration=duration)
    shown = 0
    finished = False
    try:
        for event in events:
            line = json.dumps(event_json(event), separators=(",", ":"))
            if args.json:
                env.stdout.write(line + "\n")
            elif event.kind is EventKind.NOTE:
                env.stderr.write(f"note: {event.note}\n")
            else:
                env.stdout.write(event_line(event) + "\n")
            env.stdout.flush()
            if event.kind is EventKind.NOTE:
                continue
            if hook is not None:
                hook.submit(event, line, describe(event))
            shown += 1
            if args.count is not None and shown >= args.count:
                break
        finished = True
    finally:
        events.close()
        if hook is not None:
            hook.close(wait=finished)
    return 0
