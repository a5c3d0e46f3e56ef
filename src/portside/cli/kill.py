"""`portside kill TARGET`: end the processes listening on a port, and only those."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import portside
from portside.cli.environment import Environment
from portside.cli.render.shapes import kill_json
from portside.cli.render.tables import write_json
from portside.containers.describe import label
from portside.errors import ContainerHeld, StillHeld
from portside.model import KillReport, ProcessInfo
from portside.net.durations import parse_duration


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("kill", help="end the processes that listen on a port")
    parser.add_argument("target", help="62893, :62893, 127.0.0.1:62893, [::1]:62893, localhost:62893 or a URL")
    parser.add_argument("--timeout", default="5s", help="how long to wait for exit: 5, 500ms, 10s (default 5s)")
    parser.add_argument("--force", action="store_true", help="SIGKILL what is still alive after the timeout")
    parser.add_argument("--dry-run", action="store_true", help="show who would be signalled, signal no one")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation on a terminal")
    parser.add_argument("--container", action="store_true",
                        help="free a container's published port by stopping the container through its engine's API")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def _describe(victims: tuple[ProcessInfo, ...]) -> str:
    return "\n".join(f"  pid {v.pid}  {v.name}  {' '.join(v.cmdline)}" for v in victims)


def _asker(env: Environment) -> Callable[[tuple[ProcessInfo, ...]], bool]:
    def confirm(victims: tuple[ProcessInfo, ...]) -> bool:
        env.stdout.write(f"send SIGTERM to:\n{_describe(victims)}\nproceed? [y/N] ")
        env.stdout.flush()
        answer = env.stdin.readline() if env.stdin is not None else ""
        return answer.strip().lower() in ("y", "yes")

    return confirm


def _with_containers(args: argparse.Namespace, env: Environment, timeout: float) -> KillReport | None:
    """On a terminal with `--container`: show the containers to stop (and owners to signal), ask once, and act on
    the answer; None when no container holds the port (then the owners are asked about as usual)."""
    planned = portside.kill(args.target, dry_run=True, containers=True)
    if not planned.containers:
        return None
    shown = "\n".join(f"  {label(container)}" for container in planned.containers)
    signal = f"\nand send SIGTERM to:\n{_describe(planned.victims)}" if planned.victims else ""
    env.stdout.write(f"stop through the engine's API:\n{shown}{signal}\nproceed? [y/N] ")
    env.stdout.flush()
    answer = env.stdin.readline() if env.stdin is not None else ""
    if answer.strip().lower() not in ("y", "yes"):
        return planned._replace(dry_run=False, declined=True)
    return portside.kill(args.target, timeout=timeout, force=args.force, containers=True)


def _write(env: Environment, report: KillReport) -> None:
    out = env.stdout
    verb = "would stop" if report.dry_run else "stopped"
    for container in () if report.declined else report.containers:
        out.write(f"{verb} {label(container)} through {container.engine}'s API\n")
    if not report.victims and not report.containers:
        out.write(f"port {report.port} is free; nothing to kill\n")
    elif report.dry_run and report.victims:
        out.write(f"would send SIGTERM to:\n{_describe(report.victims)}\n")
    for info, name in report.signalled:
        out.write(f"sent {name} to pid {info.pid} ({info.name})\n")
    for info in report.vanished:
        out.write(f"pid {info.pid} ({info.name}) had already exited\n")
    if report.freed and (report.victims or report.containers):
        out.write(f"port {report.port} is free\n")


def run(args: argparse.Namespace, env: Environment) -> int:
    ask = env.stdin_isatty and env.stdout_isatty and not args.yes and not args.dry_run
    timeout = parse_duration(args.timeout, "--timeout")
    try:
        report = _with_containers(args, env, timeout) if ask and args.container else None
        if report is None:
            report = portside.kill(args.target, timeout=timeout, force=args.force, dry_run=args.dry_run,
                                   confirm=_asker(env) if ask else None, containers=args.container)
    except ContainerHeld as error:
        if args.json and error.report is not None:
            write_json(env, kill_json(error.report))
        raise
    if args.json:
        write_json(env, kill_json(report))
    else:
        _write(env, report)
    if report.declined:
        env.stderr.write("portside: nothing signalled or stopped\n" if report.containers else
                         "portside: nothing signalled\n")
        return 1
    if report.freed or report.dry_run:
        return 0
    alive = ", ".join(f"pid {info.pid} ({info.name})" for info in report.survivors)
    hint = "; rerun with --force to send SIGKILL" if report.survivors and not args.force else ""
    raise StillHeld(f"port {report.port} is still held{' by ' + alive if alive else ''} after {timeout:g}s{hint}")
