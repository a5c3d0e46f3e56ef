"""`portside doctor TARGET` / `--listen PORT`: why a connection fails or a bind fails, with evidence and fixes."""

from __future__ import annotations

import argparse

import portside
from portside.cli.environment import Environment
from portside.cli.render.shapes import doctor_json
from portside.cli.render.tables import write_json
from portside.errors import UsageError
from portside.model import Finding, Severity
from portside.net.addresses import parse_port


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("doctor", help="why a connection (or a server's bind) fails: findings, evidence, fixes")
    parser.add_argument("target", nargs="?", help="what a client fails to reach: 62893, localhost:3000, https://app.localhost:8443/")
    parser.add_argument("--listen", metavar="PORT", help="instead: why a server cannot bind this TCP port")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def _findings(args: argparse.Namespace) -> tuple[str, tuple[Finding, ...]]:
    if (args.target is None) == (args.listen is None):
        raise UsageError("doctor needs a TARGET (why a connection fails) or --listen PORT (why a bind fails), not both")
    if args.listen is not None:
        port = parse_port(args.listen.strip())
        return f"listen:{port}", portside.diagnose_listen(port)
    return args.target, portside.diagnose(args.target)


def run(args: argparse.Namespace, env: Environment) -> int:
    shown, findings = _findings(args)
    if args.json:
        write_json(env, doctor_json(shown, findings))
    else:
        for finding in findings:
            env.stdout.write(f"{finding.severity.value:7}  {finding.code}: {finding.observed}\n")
            env.stdout.write(f"         fix: {finding.fix}\n")
    return 1 if any(finding.severity is Severity.FAULT for finding in findings) else 0
