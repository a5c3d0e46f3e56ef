"""What `portside watch` costs, beside `watch -n1 ss -ltnpi`: CPU at 1 s, memory over a soak, event latency.

    python3 bench/watch.py [--window 20] [--soak 120] [--trials 10] [--scenarios 100,1k+10k]

Scenarios (bench/crowd.py holds them on 127.0.0.1 and ends them afterwards): 100 listeners in
10 processes; 1,000 listeners in 50 processes with 10,000 idle loopback connections between
them (20,000 sockets more). In each, every command runs alone: a 3 s warm-up (start-up left
out), then `--window` seconds over which its CPU time (user + system, children included:
/proc/PID/stat utime, stime, cutime, cstime) is taken as a percentage of one core:
  - `portside watch --json` (traffic on, the default), stdout to /dev/null;
  - `portside watch --json --no-traffic`;
  - `portside watch`, the TUI, on an 80x24 pseudo-terminal whose output is read and dropped;
  - `watch -n1 ss -ltnpi` on the same kind of terminal: the anchor;
  - bandwhich where it is installed (it is in neither Debian 12 nor PyPI).
Also portside's CPU per sample in-process (`Watcher.step`, median of 20). Memory: `portside watch
--json --interval 20ms` for `--soak` seconds on the 100-listener crowd, while this script opens
and closes a listener and a connection carrying 1 MB every 0.1 s; RSS each second, its growth per
1,000 samples by least squares on the second half, extrapolated to 3,600 samples (an hour at 1 s).
Latency: `--trials` listeners opened at random moments under `portside watch --json` (1 s);
the time until each one's `opened` line is read. Prints Markdown. Needs the venv at .venv,
procps' `watch` and util-linux's `unshare`; run as root so `ss -p` and the owner walk see every
process. The whole run happens in a network namespace of its own (re-executed under `unshare
--net`, lo up): the sockets are the bench's alone, so listeners that other programs open and close
on this machine do not count, while /proc and its processes stay the machine's (`--host` runs in
the machine's own namespace instead).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import pty
import random
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

BENCH = Path(__file__).resolve().parent
VENV_BIN = BENCH.parent / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
PORTSIDE = str(VENV_BIN / "portside")
WARMUP = 3.0
READY_TIMEOUT = 300.0
TICKS = os.sysconf("SC_CLK_TCK")
STEP_CODE = """
import json, time
from portside.monitor.watcher import Watcher
watcher = Watcher()
watcher.step()
times = []
for _ in range(20):
    began = time.process_time()
    watcher.step()
    times.append(1000 * (time.process_time() - began))
    time.sleep(0.2)
print(json.dumps(sorted(times)))
"""


class Scenario(NamedTuple):
    name: str
    listeners: int
    processes: int
    connections: int


SCENARIOS = {
    "100": Scenario("100 listeners in 10 processes", 100, 10, 0),
    "1k+10k": Scenario("1,000 listeners in 50 processes, 10,000 idle connections to them", 1000, 50, 10_000),
}


@contextmanager
def crowd(scenario: Scenario) -> Iterator[None]:
    """bench/crowd.py holding the scenario's sockets until the block ends (its whole process group then)."""
    argv = [sys.executable, str(BENCH / "crowd.py"), str(scenario.listeners), str(scenario.processes),
            "--connections", str(scenario.connections)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, process_group=0)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT)
        if not ready or proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the crowd for {scenario.name} did not get ready")
        yield
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system time of `pid` and its reaped children."""
    with open(f"/proc/{pid}/stat", "rb") as file:
        fields = file.read().rsplit(b")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / TICKS


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start(argv: list[str], terminal: bool) -> tuple[subprocess.Popen[bytes], int | None]:
    """Start `argv` in a session of its own: on an 80x24 pseudo-terminal (output drained), else output to /dev/null."""
    if not terminal:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                start_new_session=True), None
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            env={**os.environ, "TERM": "xterm-256color"})
    os.close(slave)

    def drain() -> None:
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()
    return proc, master


def stop(proc: subprocess.Popen[bytes], master: int | None) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=5)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.wait()
    if master is not None:
        os.close(master)


def cpu_percent(argv: list[str], terminal: bool, window: float) -> float:
    proc, master = start(argv, terminal)
    try:
        time.sleep(WARMUP)
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[0]} ended early with status {proc.returncode}")
        before, began = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(window)
        return 100 * (cpu_seconds(proc.pid) - before) / (time.monotonic() - began)
    finally:
        stop(proc, master)


def commands() -> dict[str, tuple[list[str], bool]]:
    found = {
        "portside watch --json": ([PORTSIDE, "watch", "--json"], False),
        "portside watch --json --no-traffic": ([PORTSIDE, "watch", "--json", "--no-traffic"], False),
        "portside watch (TUI, 80x24)": ([PORTSIDE, "watch"], True),
        "watch -n1 ss -ltnpi": (["watch", "-n1", "ss", "-ltnpi"], True),
    }
    bandwhich = subprocess.run(["sh", "-c", "command -v bandwhich"], capture_output=True, text=True, check=False)
    if bandwhich.stdout.strip():
        found["bandwhich"] = ([bandwhich.stdout.strip()], True)
    return found


def step_ms() -> list[float]:
    out = subprocess.run([PYTHON, "-c", STEP_CODE], capture_output=True, text=True, check=True, timeout=300)
    times: list[float] = json.loads(out.stdout)
    return times


def churn(until: float) -> int:
    """Open and close a listener and a connection carrying 1 MB every 0.1 s; how many rounds."""
    rounds = 0
    payload = b"x" * 1_000_000
    while time.monotonic() < until:
        with socket.create_server(("127.0.0.1", 0)) as server:
            client = socket.create_connection(server.getsockname())
            peer, _ = server.accept()
            sender = threading.Thread(target=client.sendall, args=(payload,))
            sender.start()
            got = 0
            while got < len(payload):
                got += len(peer.recv(1 << 20))
            sender.join()
            client.close()
            peer.close()
        rounds += 1
        time.sleep(0.1)
    return rounds


def soak(seconds: float) -> dict[str, object]:
    interval = 0.02
    proc, master = start([PORTSIDE, "watch", "--json", "--interval", "20ms"], False)
    try:
        time.sleep(WARMUP)
        began = time.monotonic()
        churner = threading.Thread(target=churn, args=(began + seconds,), daemon=True)
        churner.start()
        samples: list[tuple[float, int]] = []
        while time.monotonic() < began + seconds:
            samples.append((time.monotonic() - began, rss_kb(proc.pid)))
            time.sleep(1.0)
        churner.join()
        cpu = cpu_seconds(proc.pid)
    finally:
        stop(proc, master)
    half = samples[len(samples) // 2:]
    xs, ys = [t for t, _ in half], [kb for _, kb in half]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)
    per_sample = slope * interval  # kB per sample, as if every interval was met
    marks = [kb for t, kb in samples if int(t) % max(1, int(seconds) // 6) == 0]
    return {"marks": marks, "samples": seconds / interval, "kb_per_1000": 1000 * per_sample,
            "hour_kb": 3600 * per_sample, "cpu_s": cpu, "interval": interval}


def latency(trials: int) -> list[float]:
    proc = subprocess.Popen([PORTSIDE, "watch", "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, start_new_session=True)
    assert proc.stdout is not None
    found = []
    try:
        time.sleep(WARMUP)
        for _ in range(trials):
            time.sleep(random.uniform(0, 1.0))  # no fixed phase between the samples and the listen
            with socket.create_server(("127.0.0.1", 0)) as server:
                port = server.getsockname()[1]
                began = time.monotonic()
                while True:
                    event = json.loads(proc.stdout.readline())
                    if event["event"] == "opened" and event["listener"]["port"] == port:
                        break
                found.append(1000 * (time.monotonic() - began))
    finally:
        stop(proc, None)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, default=20.0, help="seconds of CPU measured per command")
    parser.add_argument("--soak", type=float, default=120.0, help="seconds of the memory soak")
    parser.add_argument("--trials", type=int, default=10, help="listeners timed for the event latency")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--host", action="store_true", help="run in this network namespace, not a private one")
    parser.add_argument("--isolated", action="store_true", help=argparse.SUPPRESS)  # set by the re-execution
    args = parser.parse_args()
    if not (args.host or args.isolated):
        inner = ["ip link set lo up && exec \"$0\" \"$@\"", sys.executable, *sys.argv, "--isolated"]
        os.execvp("unshare", ["unshare", "--net", "sh", "-c", *inner])
    code = "import textual, portside; print(portside.__version__, textual.__version__)"
    version = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    commit = subprocess.run(["git", "-C", str(BENCH), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    print("# `portside watch`: CPU at 1 s, memory over a soak, event latency\n")
    print(f"- machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, kernel {os.uname().release}")
    print(f"- portside {version[0]} (commit {commit}), textual {version[1]}, {sys.version.split()[0]} for the bench")
    print(f"- command: `python3 bench/watch.py --window {args.window:g} --soak {args.soak:g} --trials {args.trials}"
          f"{' --host' if args.host else ''}`" + ("" if args.host else " (in a private network namespace: only the "
                                                  "bench's sockets; /proc and its processes are the machine's)"))
    print("- bandwhich: " + ("measured" if "bandwhich" in commands() else
                             "not installable here (in neither Debian 12 nor PyPI): not measured"))
    for key in args.scenarios.split(","):
        scenario = SCENARIOS[key]
        with crowd(scenario):
            print(f"\n## {scenario.name}\n")
            print("| command | CPU % of one core at 1 s |")
            print("| --- | --- |")
            for label, (argv, terminal) in commands().items():
                print(f"| `{label}` | {cpu_percent(argv, terminal, args.window):.2f} |", flush=True)
            times = step_ms()
            print(f"\nportside's CPU per sample in-process (`Watcher.step`, traffic on, 20 samples): median "
                  f"{statistics.median(times):.1f} ms, max {max(times):.1f} ms.", flush=True)
    with crowd(SCENARIOS["100"]):
        memory = soak(args.soak)
        marks = ", ".join(f"{kb / 1024:.1f}" for kb in memory["marks"])  # type: ignore[attr-defined]
        print("\n## Memory over a shortened soak\n")
        print(f"`portside watch --json --interval 20ms` for {args.soak:g} s on the 100-listener crowd while a "
              f"listener and a connection carrying 1 MB open and close every 0.1 s: about {memory['samples']:.0f} "
              f"samples (an hour at 1 s is 3,600). RSS in MB, evenly over the run: {marks}. Growth over the second "
              f"half: {memory['kb_per_1000']:.1f} kB per 1,000 samples, so {memory['hour_kb']:.0f} kB over an hour "
              f"at 1 s. CPU {memory['cpu_s']:.1f} s in all.", flush=True)
        found = latency(args.trials)
        print("\n## Event latency\n")
        print(f"{args.trials} listeners opened at random moments under `portside watch --json` (1 s): the "
              f"`opened` line read after a median {statistics.median(found):.0f} ms, max {max(found):.0f} ms "
              f"(one interval is 1,000 ms).")


if __name__ == "__main__":
    main()
