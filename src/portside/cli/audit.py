"""`portside audit`: which listeners other machines can reach, and a gate for CI (exit 1 on a violation)."""

from __future__ import annotations

import argparse
import os

import portside
from portside.cli.environment import Environment
from portside.cli.render.shapes import audit_json
from portside.cli.render.tables import write_json, write_notes, write_table

DEFAULT_POLICY = "portside.toml"


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("audit", help="what other machines can reach, proven against the firewall; exit 1 "
                                            "when the policy does not allow it")
    parser.add_argument("--policy", metavar="FILE", help=f"policy file (default: ./{DEFAULT_POLICY} when present)")
    parser.add_argument("--probe", action="store_true", help="ask each exposed service what it is (politely)")
    parser.add_argument("--verify", action="store_true", help="as root, dial each exposed listener from a network "
                                                              "namespace portside builds, and show measured beside predicted")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    output.add_argument("--sarif", action="store_true", help="SARIF 2.1.0 output, for code-scanning UIs")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    from portside.auditing import findings_of

    name = args.policy or (DEFAULT_POLICY if os.path.isfile(DEFAULT_POLICY) else None)
    report = portside.audit(policy=name, probe=args.probe, verify=args.verify)
    if args.sarif:
        from portside.auditing.sarif import to_sarif

        write_json(env, to_sarif(report, name))
    elif args.json:
        write_json(env, audit_json(report, name))
    else:
        rows = [(
            f"{entry.listener.address}:{entry.listener.port}",
            ",".join(p.name for p in entry.listener.processes) or "-",
            entry.reachability.verdict.value + (" VIOLATION" if entry.violation else " allowed" if entry.allowed
                                                 and entry.reachability.verdict.value == "reachable" else ""),
            entry.reachability.reason,
            *([", ".join(f"{c.address} {c.measured}" for c in entry.checks) or "-"] if args.verify else []),
        ) for entry in report.entries]
        write_table(env, ("LISTENER", "PROCESS", "VERDICT", "WHY", *(["MEASURED"] if args.verify else [])), rows)
        for entry in report.entries:
            for finding in findings_of(entry):
                env.stdout.write(f"{finding.severity.value:7}  {finding.code}: {finding.observed}\n")
                env.stdout.write(f"         fix: {finding.fix}\n")
        write_notes(env, report.notes)
    return 1 if report.violations else 0
