"""How fast `portside exporter` answers a scrape, with 1,000 listeners (goal: under 200 ms).

    python3 bench/exporter.py [--scrapes 50] [--scenarios 1k,10k]

Scenarios (bench/crowd.py holds them on 127.0.0.1 and ends them afterwards): 1,000 listeners in
50 processes with 1,000 idle loopback connections between them; 10,000 listeners in 50
processes with 10,000 connections. For each: `portside exporter` is started, scraped 3 times
to warm up (the first sample walks every process; later ones remember owners), then scraped
`--scrapes` times one after another as Prometheus would (GET /metrics, a new connection each,
the whole body read); the wall time of each scrape is taken. Also the wall time of a whole
`portside export --prometheus` run (start-up included), median of 5. Every body is checked:
it holds one `portside_listener_info` series per crowd listener at least. Prints Markdown.
Needs the venv at .venv and util-linux's `unshare`; run as root so the owner walk sees every
process. It runs in a network namespace of its own (re-executed under `unshare --net`, lo up),
so the sockets are the bench's alone.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from watch import PORTSIDE, PYTHON, Scenario, crowd

PORT = 9917
GOAL_MS = 200.0


SCENARIOS = {
    "1k": Scenario("1k", 1000, 50, 1000),
    "10k": Scenario("10k", 10000, 50, 10000),
}


def scrape() -> tuple[float, str]:
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    connection.request("GET", "/metrics")
    reply = connection.getresponse()
    body = reply.read().decode()
    connection.close()
    took = (time.perf_counter() - began) * 1000
    if reply.status != 200:
        raise RuntimeError(f"scrape answered {reply.status}: {body[:200]}")
    return took, body


def start_exporter() -> subprocess.Popen[str]:
    proc = subprocess.Popen([PORTSIDE, "exporter", "--listen", f"127.0.0.1:{PORT}"], stderr=subprocess.PIPE,
                            text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if "serving" not in line:
        proc.kill()
        raise RuntimeError(f"the exporter did not start: {line}")
    return proc


def measure(scenario: Scenario, scrapes: int) -> list[str]:
    with crowd(scenario):
        proc = start_exporter()
        try:
            warm = [scrape()[0] for _ in range(3)]
            times: list[float] = []
            for _ in range(scrapes):
                took, body = scrape()
                times.append(took)
                series = body.count("\nportside_listener_info{")
                if series < scenario.listeners:
                    raise RuntimeError(f"{series} listener series for {scenario.listeners} listeners")
        finally:
            proc.terminate()
            proc.wait(10)
        once = []
        for _ in range(5):
            began = time.perf_counter()
            subprocess.run([PORTSIDE, "export", "--prometheus"], stdout=subprocess.DEVNULL, check=True)
            once.append((time.perf_counter() - began) * 1000)
    quartiles = statistics.quantiles(times, n=10)
    verdict = "met" if statistics.median(times) < GOAL_MS and max(times) < GOAL_MS else "NOT met"
    return [
        (f"### {scenario.name}: {scenario.listeners:,} listeners in {scenario.processes} processes, "
        f"{scenario.connections:,} connections\n"),
        "| measure | ms |", "| --- | --- |",
        f"| first scrape (walks every process) | {warm[0]:.0f} |",
        f"| scrape, median of {scrapes} | {statistics.median(times):.1f} |",
        f"| scrape, p90 | {quartiles[8]:.1f} |",
        f"| scrape, max | {max(times):.1f} |",
        f"| size of the body | {len(body) / 1024:.0f} KiB, {body.count(chr(10))} lines |",
        f"| `portside export --prometheus`, whole run, median of 5 | {statistics.median(once):.0f} |",
        "",
        f"Goal (scrape under {GOAL_MS:.0f} ms, every one): {verdict}." if scenario.name == "1k" else "",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--scenarios", default="1k")
    parser.add_argument("--isolated", action="store_true", help=argparse.SUPPRESS)  # set by the re-execution
    args = parser.parse_args()
    if not args.isolated:
        inner = ["ip link set lo up && exec \"$0\" \"$@\"", sys.executable, *sys.argv, "--isolated"]
        os.execvp("unshare", ["unshare", "--net", "sh", "-c", *inner])
    version = subprocess.run([PYTHON, "-c", "import portside; print(portside.__version__)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    commit = subprocess.run(["git", "-C", str(BENCH), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    print("# `portside exporter`: time to answer a scrape\n")
    print(f"- machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, kernel {os.uname().release}")
    print(f"- portside {version} (commit {commit}), {sys.version.split()[0]} for the bench")
    print(f"- command: `python3 bench/exporter.py --scrapes {args.scrapes} --scenarios {args.scenarios}` (in a private "
          "network namespace: only the bench's sockets; /proc and its processes are the machine's)\n")
    for name in args.scenarios.split(","):
        print("\n".join(measure(SCENARIOS[name], args.scrapes)))


if __name__ == "__main__":
    main()
