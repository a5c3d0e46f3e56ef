"""`portside export`: this machine's listeners once, for another tool: Prometheus' text exposition
(`--prometheus`, for node_exporter's textfile collector) or one JSON object per listener (`--ndjson`).

`--output FILE` writes FILE whole or not at all (a temporary file beside it, then a rename), so a
collector never reads half a file. docs/metrics.md lists the metric families.
"""

from __future__ import annotations

import argparse
import os

from portside.cli.environment import Environment
from portside.errors import UsageError


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("export", help="print the listeners for Prometheus (--prometheus) or as NDJSON (--ndjson)")
    form = parser.add_mutually_exclusive_group(required=True)
    form.add_argument("--prometheus", action="store_true",
                      help="Prometheus text exposition format (node_exporter's textfile collector; docs/metrics.md)")
    form.add_argument("--ndjson", action="store_true", help="one JSON object per listener and line (ls --json's keys)")
    parser.add_argument("--output", metavar="FILE", help="write FILE atomically instead of standard output")
    parser.add_argument("--no-traffic", action="store_true", help="do not read connections and bytes per listener")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, env: Environment) -> int:
    import portside

    if args.prometheus:
        text = portside.metrics(traffic=not args.no_traffic)
    else:
        from portside.export.ndjson import lines

        text = "".join(line + "\n" for line in lines(portside.listeners()))
    if args.output is None:
        env.stdout.write(text)
    else:
        _write_atomically(args.output, text)
    return 0


def _write_atomically(path: str, text: str) -> None:
    if os.path.lexists(path) and not os.path.isfile(path):
        raise UsageError(f"cannot write {path}: not a regular file (--output replaces a file, whole)")
    folder = os.path.dirname(os.path.abspath(path))
    import tempfile  # only when writing a file: it pulls shutil and random

    try:
        handle, temporary = tempfile.mkstemp(prefix=".portside-", suffix=".tmp", dir=folder)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        os.unlink(temporary)
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
