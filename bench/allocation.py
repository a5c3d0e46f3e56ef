"""Stress free-port allocators: P processes x 50 picks, each held 20-50 ms unbound, then bound.

    python3 bench/allocation.py [--processes 16,64] [--picks 50] [--runs 3] [--tools ...]

Every process picks a port, holds it unbound for 20-50 ms (as a test does before its
server starts), binds it on 127.0.0.1 and listens, keeping it until all are done; meanwhile
a churn process keeps ~256 short outgoing loopback connections cycling (each closed with a
RST, so no TIME_WAIT builds up), drawing on the kernel's ephemeral range. Counted per tool,
medians over runs: duplicates (picks minus distinct ports across all processes), bind
failures, ports inside the kernel's ephemeral range, and the time one pick takes: over all
picks, over the later picks only, and of each process's first pick alone (portside opens its
store there). Runs with and without SO_REUSEADDR on the binding socket. Prints a Markdown table.

Anchors: portpicker (no portserver), port-for, ephemeral-port-reserve, and bind(0).
Everything happens on 127.0.0.1; the churn stops by itself after CHURN_LIMIT seconds.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

TOOLS = ("portside", "portpicker", "port-for", "ephemeral-port-reserve", "bind0")
CHURN_LIMIT = 600.0
CHURN_RING = 256
CHURN_RATE = 3000.0


def _picker(tool: str) -> Callable[[], int]:
    if tool == "portside":
        from portside.leasing.allocate import pick

        return lambda: pick()[0].port
    if tool == "portpicker":
        import portpicker

        return portpicker.pick_unused_port  # type: ignore[no-any-return]
    if tool == "port-for":
        import port_for

        return port_for.select_random  # type: ignore[no-any-return]
    if tool == "ephemeral-port-reserve":
        import ephemeral_port_reserve

        return ephemeral_port_reserve.reserve  # type: ignore[no-any-return]

    def bind0() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    return bind0


def worker(tool: str, picks: int, reuse: bool, seed: int) -> None:
    """One stressing process: waits for 'go' on stdin, picks, holds, binds; reports JSON; waits for EOF."""
    get = _picker(tool)
    rng = random.Random(seed)
    sys.stdin.readline()
    held, ports, times, failures = [], [], [], 0
    for _ in range(picks):
        began = time.perf_counter()
        port = get()
        times.append(time.perf_counter() - began)
        ports.append(port)
        time.sleep(rng.uniform(0.020, 0.050))
        sock = socket.socket()
        if reuse:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(1)
            held.append(sock)
        except OSError:
            failures += 1
            sock.close()
    print(json.dumps({"ports": ports, "times": times, "failures": failures}), flush=True)
    sys.stdin.read()


def churn() -> None:
    """Cycle short outgoing loopback connections until stdin closes (or CHURN_LIMIT seconds pass)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1024)
    address = server.getsockname()
    accepted: collections.deque[socket.socket] = collections.deque()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
            while len(accepted) > 2 * CHURN_RING:
                accepted.popleft().close()

    stop = threading.Event()
    threading.Thread(target=serve, daemon=True).start()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    ring: collections.deque[socket.socket] = collections.deque()
    linger = struct.pack("ii", 1, 0)
    made, began = 0, time.monotonic()
    while not stop.is_set() and time.monotonic() - began < CHURN_LIMIT:
        try:
            ring.append(socket.create_connection(address))
            made += 1
        except OSError:
            time.sleep(0.001)
        while len(ring) > CHURN_RING:
            old = ring.popleft()
            old.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            old.close()
        ahead = made / CHURN_RATE - (time.monotonic() - began)
        if ahead > 0:
            time.sleep(ahead)
    print(json.dumps({"connections": made, "seconds": time.monotonic() - began}), flush=True)


def ephemeral() -> tuple[int, int]:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as file:
        low, high = file.read().split()
    return int(low), int(high)


def _p99(ordered: list[float]) -> float:
    return ordered[int(0.99 * (len(ordered) - 1))]


def one_run(tool: str, processes: int, picks: int, reuse: bool, home: str) -> dict[str, float]:
    env = {**os.environ, "PORTSIDE_HOME": home}
    me = [sys.executable, __file__]
    churner = subprocess.Popen([*me, "--churn"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    workers = [
        subprocess.Popen(
            [*me, "--worker", tool, "--picks", str(picks), "--seed", str(index)] + (["--reuse"] if reuse else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )
        for index in range(processes)
    ]
    time.sleep(1.0 + processes * 0.05)  # imports done before the start line
    began = time.monotonic()
    for proc in workers:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reports = []
    for proc in workers:
        assert proc.stdout is not None
        reports.append(json.loads(proc.stdout.readline()))
    wall = time.monotonic() - began
    for proc in [*workers, churner]:
        assert proc.stdin is not None
        proc.stdin.close()
    assert churner.stdout is not None
    churned = json.loads(churner.stdout.readline())
    for proc in [*workers, churner]:
        proc.wait(30)
    ports = [port for report in reports for port in report["ports"]]
    low, high = ephemeral()
    times = sorted(t for report in reports for t in report["times"])
    later = sorted(t for report in reports for t in report["times"][1:])
    first = sorted(report["times"][0] for report in reports)
    return {
        "picks": len(ports),
        "duplicates": len(ports) - len(set(ports)),
        "bind_failures": sum(report["failures"] for report in reports),
        "in_ephemeral": sum(low <= port <= high for port in ports),
        "pick_ms_median": 1000 * statistics.median(times),
        "pick_ms_p99": 1000 * _p99(times),
        "later_ms_p99": 1000 * _p99(later),
        "first_ms_median": 1000 * statistics.median(first),
        "first_ms_max": 1000 * first[-1],
        "wall_s": wall,
        "churn_per_s": churned["connections"] / churned["seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", default="16,64")
    parser.add_argument("--picks", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--worker")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--churn", action="store_true")
    args = parser.parse_args()
    if args.churn:
        churn()
        return
    if args.worker:
        worker(args.worker, args.picks, args.reuse, args.seed)
        return
    print(f"machine: {os.cpu_count()} cores, {os.uname().release}; ephemeral range {ephemeral()}; "
          f"{args.picks} picks per process, medians of {args.runs} runs")
    print("| P | tool | SO_REUSEADDR | duplicates | bind failures | in ephemeral range | pick median ms "
          "| pick p99 ms | later picks p99 ms | first pick median ms | first pick max ms | churn conn/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for processes in (int(p) for p in args.processes.split(",")):
        for tool in args.tools.split(","):
            for reuse in (False, True):
                runs = []
                for _ in range(args.runs):
                    with tempfile.TemporaryDirectory() as home:
                        runs.append(one_run(tool, processes, args.picks, reuse, home))
                row = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
                print(f"| {processes} | {tool} | {'yes' if reuse else 'no'} | {row['duplicates']:g} "
                      f"| {row['bind_failures']:g} | {row['in_ephemeral']:g} | {row['pick_ms_median']:.3f} "
                      f"| {row['pick_ms_p99']:.3f} | {row['later_ms_p99']:.3f} | {row['first_ms_median']:.3f} "
                      f"| {row['first_ms_max']:.3f} | {row['churn_per_s']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
