"""Benchmark `portside ls --json` with 20 running containers against `docker ps` + `ss -ltnp`, and a hung engine.

Why: naming the container behind every published port is what people do today by hand
with `docker ps` and `ss -ltnp`; portside does it in one command and must stay about as
fast, and an engine socket that never answers must not make `ls` slow (it gets at most
0.5 s, then a note). This starts dockerd (default userland proxy: docker-proxy holds each
port) in a network namespace of its own with tests/scenario/engines.py, runs 20 busybox
containers each publishing 127.0.0.1:PORT, then times side by side in one hyperfine run:
  - `portside ls --json` asking the engine's API, without it (the fallbacks: state files,
    argv, cgroups, DNAT rules), and pointed at a unix socket that accepts and never answers;
  - `docker ps`, `ss -ltnp`, and both (`sh -c`), the manual way;
  - `portside ls --json` in an empty namespace: no engine, no lookup.
Every command runs through `nsenter --net` (and `env` for DOCKER_HOST), the same small
overhead for all. It also checks that each run names the 20 containers, that the hung
run says so in a note, and times the container check an inventory makes on a machine
without engines (in-process). Prints a Markdown report; always removes the containers,
the daemon, the namespaces and what the engine left on the host. Needs root, docker.io,
busybox-static, hyperfine; about a minute with 10 runs on 2 cores.

    python3 bench/containers.py [--runs N] [--containers N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from inventory import BENCH, PORTSIDE, PYTHON, first_line, host, hyperfine_times, log, portside_revision, table

sys.path.insert(0, str(BENCH.parent / "tests" / "scenario"))
import engines

RUNS = 10
CONTAINERS = 20
FIRST_PORT = 19000
CHECK_CODE = (
    "import time, portside; from portside.containers import attach; from portside.inventory import take_snapshot; "
    "from portside.inventory.assemble import assemble; snap = take_snapshot(); found = assemble(snap, {}); "
    "times = []\n"
    "for _ in range(2000):\n"
    "    t = time.perf_counter(); attach(found, snap, (portside.Protocol.TCP, portside.Protocol.UDP)); "
    "times.append(time.perf_counter() - t)\n"
    "times.sort(); print(times[len(times) // 2] * 1e6, len(found.listeners))"
)


def named(document: dict[str, object], ports: range) -> int:
    """How many of `ports` the `ls --json` document ties to a container with an id."""
    rows = document["listeners"]
    assert isinstance(rows, list)
    return sum(1 for row in rows if row["port"] in ports and row["container"] and row["container"]["id"])


def check_cost() -> tuple[float, int]:
    """Median µs of the container check on this machine's own inventory (no engine here), and its listener count."""
    out = subprocess.run([PYTHON, "-c", CHECK_CODE], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


def import_cost() -> float:
    """µs of importing portside.containers (cumulative, -X importtime) as `ls` does."""
    err = subprocess.run([PYTHON, "-X", "importtime", "-c", "import portside.inventory; import portside.containers"],
                         check=True, capture_output=True, text=True).stderr
    line = next(line for line in err.splitlines() if line.rstrip().endswith("| portside.containers"))
    return float(line.split("|")[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--containers", type=int, default=CONTAINERS)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/containers.py needs root (it starts dockerd in a network namespace)")
    before = engines.side_paths()
    images = Path(tempfile.mkdtemp(prefix="ps-bench-img-"))
    empty = engines.namespace("ps-bench-empty")
    engine = None
    hung = None
    try:
        log("starting dockerd in a namespace of its own")
        engine = engines.docker(images, userland_proxy=True)
        ports = range(FIRST_PORT, FIRST_PORT + args.containers)
        started = time.monotonic()
        for index, port in enumerate(ports):
            engine.run(f"bench-{index}", f"127.0.0.1:{port}:8080", "busybox", "httpd", "-f", "-p", "8080", "-h",
                       "/www")
        log(f"{args.containers} containers started in {time.monotonic() - started:.1f} s")
        hang_path = engine.home / "hung.sock"
        hung = engines.FakeEngine(hang_path, None)
        inside = ["nsenter", f"--net=/run/netns/{engine.netns}"]
        api = f"DOCKER_HOST=unix://{engine.socket}"
        commands = {
            "portside ls --json (engine API)": [*inside, "env", api, PORTSIDE, "ls", "--json"],
            "portside ls --json (no API: fallbacks)": [*inside, "env", "-u", "DOCKER_HOST", PORTSIDE, "ls", "--json"],
            "portside ls --json (engine socket hangs)": [*inside, "env", f"DOCKER_HOST=unix://{hang_path}", PORTSIDE,
                                                         "ls", "--json"],
            "docker ps": [*inside, engine.binary, "-H", f"unix://{engine.socket}", "ps"],
            "ss -ltnp": [*inside, "ss", "-ltnp"],
            "docker ps + ss -ltnp": [*inside, "sh", "-c",
                                     f"{engine.binary} -H unix://{engine.socket} ps >/dev/null && ss -ltnp"],
            "portside ls --json (empty namespace, no engine)": ["nsenter", f"--net=/run/netns/{empty}", PORTSIDE,
                                                                 "ls", "--json"],
        }
        checks = {}
        for label in ("portside ls --json (engine API)", "portside ls --json (no API: fallbacks)",
                      "portside ls --json (engine socket hangs)"):
            begun = time.monotonic()
            done = subprocess.run(commands[label], check=True, capture_output=True, text=True)
            document = json.loads(done.stdout)
            notes = [str(note) for note in document["notes"]]
            checks[label] = (named(document, ports), time.monotonic() - begun,
                             next((n for n in notes if "did not answer" in n), ""))
        log("timing")
        times = hyperfine_times(commands, args.runs)
        cost_us, own = check_cost()
        imports_us = import_cost()
        print(report(times, checks, args, cost_us, own, imports_us, engine))
    finally:
        if hung is not None:
            hung.close()
        if engine is not None:
            engine.stop()
        subprocess.run(["ip", "netns", "del", empty], check=False)
        engines.clean_side_paths(before)
        subprocess.run(["rm", "-rf", str(images)], check=False)


def report(times: dict[str, list[float]], checks: dict[str, tuple[int, float, str]], args: argparse.Namespace,
           cost_us: float, own: int, imports_us: float, engine: engines.Docker) -> str:
    manual = statistics.median(times["docker ps + ss -ltnp"])
    rows = []
    for label, runs in times.items():
        ordered = sorted(runs)
        quartiles = f"{ordered[len(ordered) // 4]:.1f}–{ordered[(3 * len(ordered)) // 4]:.1f}"
        median = statistics.median(runs)
        rows.append([f"`{label}`", f"{median:.1f}", quartiles, f"{median / manual:.2f}x"])
    check_rows = [[f"`{label}`", f"{count} of {args.containers}", f"{seconds * 1000:.0f}", note or "-"]
                  for label, (count, seconds, note) in checks.items()]
    docker_version = first_line([engine.binary, "-H", f"unix://{engine.socket}", "version", "--format",
                                 "{{.Server.Version}}"])
    lines = [
        "# Containers benchmark: `portside ls --json` with 20 containers", "",
        "## Machine", "", *host(),
        f"- Python (portside's venv): {first_line([PYTHON, '-V'])}",
        f"- portside: {portside_revision()}",
        (f"- Docker (Debian docker.io): server {docker_version}, client `{engine.binary}`; "
        f"{first_line(['hyperfine', '--version'])}"), "",
        "## Command", "", "```sh", f"python3 bench/containers.py --runs {args.runs} --containers {args.containers}",
        "```", "",
        "## Wall time (ms)", "",
        (f"hyperfine -N, warm-up, {args.runs} runs per command, all in one hyperfine run; {args.containers} busybox "
        "containers each publishing 127.0.0.1:PORT (docker-proxy holds each). Every command runs through "
        "`nsenter --net` into the engine's namespace (and `env` to set DOCKER_HOST): the same overhead for all. "
        "Ratios are to `docker ps + ss -ltnp`, the manual way to tie ports to containers."), "",
        *table(["command", "median", "quartiles", "vs docker ps + ss"], rows), "",
        "## Correctness and the hung engine", "",
        ("One run of each before timing: how many of the published ports `ls --json` tied to a container id, its "
        "wall time, and the note it gave about the engine."), "",
        *table(["command", "containers named", "ms", "note"], check_rows), "",
        "## Without engines", "",
        (f"On this machine's own namespace (no engine; {own} listeners), the check every inventory makes "
        f"(`containers.attach`: stand-in names among the owners, bridge names among the interfaces) takes "
        f"{cost_us:.1f} µs (median of 2,000, in-process); importing `portside.containers` costs {imports_us:.0f} µs "
        "(`-X importtime`, cumulative)."), "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
