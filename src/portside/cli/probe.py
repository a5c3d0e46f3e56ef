"""`portside probe TARGET`: what answers there — TCP outcome per address, and the protocol spoken."""

from __future__ import annotations

import argparse

import portside
from portside._typing import TYPE_CHECKING
from portside.cli.environment import Environment
from portside.cli.render.shapes import probe_json
from portside.cli.render.tables import write_json
from portside.model import TcpOutcome
from portside.net.addresses import host_port

if TYPE_CHECKING:
    from portside.probing.runner import Attempt


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("probe", help="what answers at a target: TCP outcome and protocol per address")
    parser.add_argument("target", help="62893, localhost:5432, [::1]:6379, https://api.localhost:8443/")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def _shown(details: dict[str, object]) -> str:
    """Details as `key value, ...`: lists joined by commas, nested details in parentheses, empty values left out."""
    parts = []
    for key, value in details.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ",".join(str(item) for item in value)
        elif isinstance(value, dict):
            value = f"({_shown(value)})"
        parts.append(f"{key} {value}")
    return ", ".join(parts)


def _summary(attempt: Attempt) -> str:
    if attempt.protocol is None:
        return ""
    shown = _shown(attempt.details)
    return f"  {attempt.protocol}" + (f" ({shown})" if shown else "")


def run(args: argparse.Namespace, env: Environment) -> int:
    attempts = portside.probe(args.target)
    if args.json:
        write_json(env, probe_json(args.target, attempts))
    else:
        for attempt in attempts:
            took = f" in {attempt.connect_ms:.2f} ms" if attempt.connect_ms is not None else ""
            env.stdout.write(f"{host_port(attempt.address, attempt.port)}  {attempt.tcp}{took}{_summary(attempt)}\n")
    return 0 if any(attempt.tcp is TcpOutcome.CONNECTED for attempt in attempts) else 1
