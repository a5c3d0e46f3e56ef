"""`portside trust [--remove]`: make browsers and tools trust the local CA behind https://NAME.localhost."""

from __future__ import annotations

import argparse

from portside.cli.environment import Environment
from portside.cli.render.shapes import trust_json
from portside.cli.render.tables import write_json
from portside.router.tls.localca import ca_cert_path, ensure_ca, has_ca
from portside.router.tls.trust import trust


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("trust", help="add the local CA (made if missing) to the system and browser stores")
    parser.add_argument("--remove", action="store_true", help="take the local CA out of those stores again")
    parser.add_argument("--json", action="store_true", help="machine-readable output (docs/json.md)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    if args.remove and not has_ca():
        steps, path, made = [], ca_cert_path(), False
    else:
        path, made = (ca_cert_path(), False) if args.remove else ensure_ca()
        steps = trust(path, remove=args.remove)
    todo = [step for step in steps if step.state == "todo"]
    if args.json:
        write_json(env, trust_json(str(path), made, args.remove, steps))
        return 1 if todo else 0
    env.stdout.write(f"local CA: {path}{' (made now)' if made else ''}\n")
    for step in steps:
        env.stdout.write(f"  {step.store}: {step.state}  {step.detail}\n")
    if not steps:
        env.stdout.write("  no trust store found\n" if has_ca() else "  nothing to remove: no local CA\n")
    if todo:
        env.stdout.write("still to do: run the commands above marked todo\n")
    elif not args.remove and steps:
        env.stdout.write("restart the browser to pick the CA up\n")
    return 1 if todo else 0
