"""`portside kill TARGET`: end the processes listening on a port, and only those."""

from __future__ import annotations

import argparse

from portside.cli.environment import Environment
from portside.cli.render.shapes import process_json
from portside.cli.render.tables import write_json
from portside.errors import StillHeld, UsageError
from portside.inventory import inventory
from portside.inventory.match import matching
from portside.model import Listener
from portside.net.addresses import parse_target
from portside.net.resolve import addresses_of
from portside.process.kill import KillPlan, plan, protected_pids, terminate


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("kill", help="end the processes that listen on a port")
    parser.add_argument("target", help="62893, :62893, 127.0.0.1:62893, [::1]:62893, localhost:62893 or a URL")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for exit (default 5)")
    parser.add_argument("--force", action="store_true", help="SIGKILL what is still alive after the timeout")
    parser.add_argument("--dry-run", action="store_true", help="show who would be signalled, signal no one")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation on a terminal")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def _held(port: int, addresses: tuple[str, ...] | None) -> tuple[Listener, ...]:
    return matching(inventory().listeners, port, addresses)


def _describe(kill_plan: KillPlan) -> str:
    return "\n".join(f"  pid {v.pid}  {v.name}  {' '.join(v.cmdline)}" for v in kill_plan.victims)


def _confirm(env: Environment, kill_plan: KillPlan) -> bool:
    env.stdout.write(f"send SIGTERM to:\n{_describe(kill_plan)}\nproceed? [y/N] ")
    env.stdout.flush()
    answer = env.stdin.readline() if env.stdin is not None else ""
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace, env: Environment) -> int:
    if not args.timeout >= 0:
        raise UsageError(f"--timeout must be zero or more seconds, not {args.timeout}")
    target = parse_target(args.target)
    addresses = addresses_of(target)
    held = _held(target.port, addresses)
    if not held:
        env.stdout.write(f"port {target.port} is free; nothing to kill\n")
        return 0
    kill_plan = plan(held, protected_pids())
    if args.dry_run:
        if args.json:
            write_json(env, {"port": target.port, "dry_run": True, "would_signal": [process_json(v) for v in kill_plan.victims]})
        else:
            env.stdout.write(f"would send SIGTERM to:\n{_describe(kill_plan)}\n")
        return 0
    if env.stdin_isatty and env.stdout_isatty and not args.yes and not _confirm(env, kill_plan):
        env.stderr.write("portside: nothing signalled\n")
        return 1
    result = terminate(kill_plan, lambda: bool(_held(target.port, addresses)), args.timeout, args.force)
    if args.json:
        write_json(env, {
            "port": target.port,
            "signalled": [{**process_json(info), "signal": name} for info, name in result.signalled],
            "survivors": [process_json(info) for info in result.survivors],
            "freed": result.freed,
        })
    else:
        for info, name in result.signalled:
            env.stdout.write(f"sent {name} to pid {info.pid} ({info.name})\n")
        for info in result.vanished:
            env.stdout.write(f"pid {info.pid} ({info.name}) had already exited\n")
    if result.freed:
        if not args.json:
            env.stdout.write(f"port {target.port} is free\n")
        return 0
    alive = ", ".join(f"pid {info.pid} ({info.name})" for info in result.survivors)
    hint = "; rerun with --force to send SIGKILL" if result.survivors and not args.force else ""
    raise StillHeld(f"port {target.port} is still held{' by ' + alive if alive else ''} after {args.timeout:g}s{hint}")
