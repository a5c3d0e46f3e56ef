"""`portside doctor --listen PORT`: why a server cannot bind PORT, with the evidence and the fix."""

from __future__ import annotations

import argparse

from portside.addresses import parse_port
from portside.cli.environment import Environment
from portside.cli.output import write_json
from portside.doctor import diagnose_listen
from portside.evidence import listen_evidence
from portside.model import Severity


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("doctor", help="why a server cannot bind a port: findings with evidence and fixes")
    parser.add_argument("--listen", required=True, metavar="PORT", help="the TCP port a server fails to bind")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    port = parse_port(args.listen.strip())
    findings = diagnose_listen(listen_evidence(port))
    if args.json:
        write_json(env, {"target": f"listen:{port}", "findings": [
            {"code": f.code, "severity": f.severity.value, "observed": f.observed, "fix": f.fix} for f in findings
        ]})
    else:
        for finding in findings:
            env.stdout.write(f"{finding.severity.value:7}  {finding.code}: {finding.observed}\n")
            env.stdout.write(f"         fix: {finding.fix}\n")
    return 1 if any(finding.severity is Severity.FAULT for finding in findings) else 0
