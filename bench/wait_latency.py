"""How fast waiters notice a new listener, and what waiting costs: portside wait vs portend vs wait-on.

    python3 bench/wait_latency.py [--trials 7] [--idle 3] [--only NAME] [--baseline REV]

For each waiter and trial: start it on a free loopback port, let it start up (1 s), measure
its CPU time over `--idle` seconds of waiting (from /proc/PID/stat), then, after a random
0-300 ms (so no waiter's polling is phase-locked to the listener), listen on the port and
time until the waiter reports success on stdout. Trials are interleaved: each round runs every
waiter once, in an order rotated each round. Prints medians as Markdown. --baseline REV adds
`portside wait localhost:P` as of git revision REV (its src/ exported, first on PYTHONPATH),
for a before/after in the same conditions.
wait-on runs through its Node API (`npm install --prefix bench/node wait-on` first) with
its default 250 ms interval and with 10 ms; a plain 1 ms connect loop is the baseline.
Only 127.0.0.1 / ::1 are dialled; every waiter ends by itself (60 s timeouts).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxy import export_src

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node" / "node_modules"
PORTSIDE = str(Path(sys.executable).with_name("portside"))
CONNECT_LOOP = """
import socket, sys, time
port = int(sys.argv[1])
while True:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            break
    time.sleep(0.001)
print("up", flush=True)
"""
PORTEND = "import portend, sys; portend.occupied('127.0.0.1', int(sys.argv[1]), timeout=60); print('up', flush=True)"
WAIT_ON = (
    "require('wait-on')({resources: ['tcp:127.0.0.1:' + process.argv[1]], timeout: 60000%s})"
    ".then(() => console.log('up'))"
)


def waiters(baseline: Path | None, revision: str) -> dict[str, list[str]]:
    found = {
        "portside wait 127.0.0.1:P": [PORTSIDE, "wait", "127.0.0.1:{port}", "--timeout", "60"],
        "portside wait localhost:P (::1 and 127.0.0.1)": [PORTSIDE, "wait", "localhost:{port}", "--timeout", "60"],
        "portend.occupied": [sys.executable, "-c", PORTEND, "{port}"],
        "plain 1 ms connect loop": [sys.executable, "-c", CONNECT_LOOP, "{port}"],
    }
    if baseline is not None:
        entry = f"import sys; sys.path.insert(0, {str(baseline)!r}); from portside.cli.main import entry; entry()"
        found[f"portside wait localhost:P at {revision}"] = [sys.executable, "-c", entry, "wait", "localhost:{port}",
                                                             "--timeout", "60"]
    if NODE_MODULES.is_dir():
        found["wait-on (default 250 ms)"] = ["node", "-e", WAIT_ON % "", "{port}"]
        found["wait-on interval 10 ms"] = ["node", "-e", WAIT_ON % ", interval: 10", "{port}"]
    else:
        print(f"wait-on skipped: npm install --prefix {HERE / 'node'} wait-on", file=sys.stderr)
    return found


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as file:
        fields = file.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def trial(command: list[str], idle: float) -> tuple[float, float]:
    """(detection latency in ms, CPU percent of one core while waiting)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))  # held from the start, listening only later: no one else can take it
        port = server.getsockname()[1]
        env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
        proc = subprocess.Popen([arg.replace("{port}", str(port)) for arg in command], stdout=subprocess.PIPE,
                                text=True, env=env)
        try:
            time.sleep(1.0)
            before = cpu_seconds(proc.pid)
            time.sleep(idle)
            cpu = 100 * (cpu_seconds(proc.pid) - before) / idle
            time.sleep(random.uniform(0, 0.3))  # no fixed phase between the waiter's polls and the listen
            server.listen(16)
            began = time.perf_counter()
            assert proc.stdout is not None
            line = proc.stdout.readline()
            latency = 1000 * (time.perf_counter() - began)
            if not line:
                raise RuntimeError(f"{command[0]} ended without reporting")
            return latency, cpu
        finally:
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--idle", type=float, default=3.0)
    parser.add_argument("--only", default="", help="run only the waiters whose name contains this")
    parser.add_argument("--baseline", metavar="REV", help="also run portside wait localhost:P as of this git revision")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        baseline = export_src(Path(tmp), args.baseline) if args.baseline else None
        measure(args, {name: command for name, command in waiters(baseline, args.baseline).items()
                       if args.only in name})


def measure(args: argparse.Namespace, chosen: dict[str, list[str]]) -> None:
    print(f"machine: {os.cpu_count()} cores, {os.uname().release}; medians of {args.trials} trials, "
          f"CPU over {args.idle:g} s of waiting")
    print("| waiter | detection median ms | detection max ms | CPU % of a core while waiting |")
    print("|---|---|---|---|")
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in chosen}
    names = list(chosen)
    for round_ in range(args.trials):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            results[name].append(trial(chosen[name], args.idle))
    for name, measured in results.items():
        latencies = [latency for latency, _ in measured]
        cpu = statistics.median(c for _, c in measured)
        print(f"| {name} | {statistics.median(latencies):.1f} | {max(latencies):.1f} | {cpu:.1f} |", flush=True)


if __name__ == "__main__":
    main()
