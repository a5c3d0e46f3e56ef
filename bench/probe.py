"""`portside probe` against `nmap -sV` on the same real servers: what each names, how fast, and what each leaves in the logs.

    python3 bench/probe.py [--runs 3] [--nmap-runs 1] [--only NAME,...]

The servers are the probe's test servers (tests/scenario/probe_cases.py: Dovecot, OpenSSH,
vsftpd, MariaDB, PostgreSQL, Redis, RabbitMQ, nginx h2c, gRPC, the Node inspector, ...),
each started by the bench on a free 127.0.0.1 port with its own config and log, once per
tool, so that each server's log tells what that tool left there. Per server and tool:
whether it named the server (nmap: a service found by probing, not guessed from the port
table; portside: a protocol other than unknown), what it said the first time, the median wall time of a
whole process (`python -m portside probe 127.0.0.1:PORT --json`, interpreter start-up
included; `nmap -sV -Pn -n -p PORT 127.0.0.1 -oX -`), the probe call itself in process
(`portside.probe`), and the error and warning lines the server logged after the first
process (one probe, one scan; those any client of the protocol leaves, allowed by
probe_cases.py, are not counted). Prints Markdown.

nmap runs only against 127.0.0.1 ports this bench started, with a host timeout; every
server is stopped by the pid it was started with. Needs root (some servers are started as
their own users), Debian's nmap and the servers .ci/run installs; ~12 minutes with the
defaults on 2 cores, nearly all of it nmap's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests" / "scenario")]

import pytest  # servers.py skips, through pytest, when a server is not installed
from probe_cases import CASES, Case, errors_in, quiet
from support import unleased_port

import portside

NMAP_TIMEOUT = 180
SHOWN = ("named_by", "software", "product", "version", "server", "dev_server", "debugger", "flavour", "health")
CLI_TIMEOUT = 30


class Outcome(NamedTuple):
    named: bool
    said: str
    wall_ms: list[float]
    call_ms: list[float]
    errors: int


def _nmap_service(xml: str) -> tuple[bool, str]:
    service = ElementTree.fromstring(xml).find(".//port/service")
    if service is None:
        return False, "no answer"
    name = service.get("name", "unknown")
    tunnel = service.get("tunnel")
    said = " ".join(part for part in (f"{tunnel}/{name}" if tunnel else name, service.get("product"),
                                      service.get("version"), service.get("extrainfo")) if part)
    named = service.get("method") == "probed" and name not in ("unknown", "tcpwrapped")
    return named, said if named else f"{said} ({service.get('method')})"


def _portside_said(attempt: dict[str, object]) -> tuple[bool, str]:
    details = attempt["details"]
    assert isinstance(details, dict)
    shown = [str(details[key]) for key in SHOWN if details.get(key) not in (None, "")]
    return attempt["protocol"] not in (None, "unknown"), " ".join([str(attempt["protocol"]), *shown])


def run_tool(case: Case, tool: str, runs: int, scratch: Path) -> Outcome | str:
    """Start the server fresh, run `tool` against it `runs` times, read its log; a reason when it cannot start."""
    port = unleased_port()
    try:
        daemon = case.start(scratch, port)
    except pytest.skip.Exception as skipped:
        return f"skipped: {skipped.msg}"
    walls: list[float] = []
    calls: list[float] = []
    named, said, errors = False, "", 0
    try:
        before = quiet(daemon.log)
        for run in range(runs):
            began = time.perf_counter()
            if tool == "nmap":
                done = subprocess.run(["nmap", "-sV", "-Pn", "-n", "-p", str(port), "127.0.0.1", "-oX", "-",
                                       "--host-timeout", f"{NMAP_TIMEOUT}s"], capture_output=True, text=True,
                                      timeout=NMAP_TIMEOUT + 30, check=True)
                walls.append(1000 * (time.perf_counter() - began))
                named, said = _nmap_service(done.stdout) if run == 0 else (named, said)
            else:
                done = subprocess.run([sys.executable, "-m", "portside", "probe", f"127.0.0.1:{port}", "--json"],
                                      capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False,
                                      env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
                walls.append(1000 * (time.perf_counter() - began))
                (attempt,) = json.loads(done.stdout)["attempts"]
                named, said = _portside_said(attempt) if run == 0 else (named, said)
            if run == 0:  # what one probe or one scan leaves in the log
                time.sleep(0.5)
                written = daemon.log.read_bytes()[before : quiet(daemon.log)].decode(errors="replace")
                errors = len(errors_in(case, written))
            if tool == "portside":
                began = time.perf_counter()
                portside.probe(f"127.0.0.1:{port}")
                calls.append(1000 * (time.perf_counter() - began))
    finally:
        daemon.stop()
    return Outcome(named, said, walls, calls, errors)


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values):.0f}" if values else "-"


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    nmap = subprocess.run(["nmap", "--version"], capture_output=True, text=True, check=False).stdout.splitlines()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    return [f"- nproc: {os.cpu_count()}; CPU: {cpu}", f"- kernel: {platform.release()}",
            f"- Python: {platform.python_version()}; portside: commit {commit}",
            f"- nmap: {nmap[0] if nmap else 'not found'}", f"- load average at start: {os.getloadavg()[0]:.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="portside runs per server (default 3)")
    parser.add_argument("--nmap-runs", type=int, default=1, help="nmap -sV runs per server (default 1)")
    parser.add_argument("--only", default="", help="comma-separated server names from probe_cases.py")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root: some servers are started as their own users")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))  # so that every server is stopped
    with tempfile.TemporaryDirectory(prefix="portside-bench-probe-") as home:
        os.environ["PORTSIDE_HOME"] = home  # the free ports come through leases: a store of the bench's own
        report(args)


def report(args: argparse.Namespace) -> None:
    names = [name for name in args.only.split(",") if name] or list(CASES)
    rows = []
    totals = {"portside": [0, 0, 0], "nmap": [0, 0, 0]}  # named, unknown, servers with errors logged
    for name in names:
        outcomes: dict[str, Outcome | str] = {}
        for tool, runs in (("portside", args.runs), ("nmap", args.nmap_runs)):
            with tempfile.TemporaryDirectory(prefix=f"portside-bench-{name}-") as scratch:
                outcomes[tool] = run_tool(CASES[name], tool, runs, Path(scratch))
        ours, theirs = outcomes["portside"], outcomes["nmap"]
        if not isinstance(ours, Outcome) or not isinstance(theirs, Outcome):
            rows.append(f"| {name} | {ours if isinstance(ours, str) else ''} | | | | | | | |")
            continue
        for tool, outcome in outcomes.items():
            assert isinstance(outcome, Outcome)
            totals[tool][0 if outcome.named else 1] += 1
            totals[tool][2] += outcome.errors > 0
        ratio = statistics.median(theirs.wall_ms) / statistics.median(ours.wall_ms)
        rows.append(f"| {name} | {ours.said} | {_ms(ours.call_ms)} | {_ms(ours.wall_ms)} | {ours.errors} | "
                    f"{theirs.said} | {_ms(theirs.wall_ms)} | {theirs.errors} | {ratio:.0f}x |")
        print(f"{name}: done", file=sys.stderr, flush=True)
    print("## Machine\n")
    print("\n".join(machine()))
    print("\n## Command\n\n```sh\n" + " ".join(["python3", "bench/probe.py", *sys.argv[1:]]) + "\n```\n")
    print(f"portside: {args.runs} run(s) per server, nmap -sV: {args.nmap_runs}; times are medians in ms.\n")
    print("| server | portside says | probe call ms | portside process ms | errors logged | nmap -sV says | "
          "nmap ms | errors logged | nmap / portside |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    for tool, (named, unknown, noisy) in totals.items():
        print(f"\n{tool}: named {named}, unknown {unknown}; servers whose log shows errors or warnings: {noisy}")
    if re.search(r"skipped", "\n".join(rows)):
        print("\nSkipped rows: the server is not installed here.")


if __name__ == "__main__":
    main()
