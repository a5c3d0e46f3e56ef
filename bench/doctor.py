"""Wall time of a full `portside doctor TARGET --json` run, against curl and a hand-run evidence bundle.

    python3 bench/doctor.py [--trials 7]

Four scenarios, each a real CLI process (`python -m portside doctor URL --json`) timed from
spawn to exit, so interpreter start-up and imports are included:
  healthy            tests/scenario/webapp.py on 127.0.0.1 answering HTTP 200    -> exit 0, "ok"
  nothing listening  a free 127.0.0.1 port (bound to port 0, closed)    -> exit 1, "nothing-listening"
  firewall drop      webapp inside a network namespace made here, an nftables rule
                     `tcp dport PORT drop` there; run via `ip netns exec` -> exit 1, "firewall-drop"
  firewall reject    the same, `tcp dport PORT reject with tcp reset`   -> exit 1, "firewall-reject"
Every portside run must give its scenario's exit status and finding code, or the bench
stops. The drop case is why doctor's 3 s contract exists: its dials give up after 1 s
while the other checks run beside them. The namespace rows include one `ip netns exec`;
its cost (`ip netns exec NS true`) is measured and printed, not subtracted.

Anchors, interleaved with portside in every trial: the manual way, `curl -sS -o /dev/null
--max-time 5 URL` (the drop case runs into the 5 s), and the evidence bundle a human
collects by hand, `ss -ltnp`, `nft list ruleset`, `getent hosts localhost` one after the
other (sum of the three; in a namespace each pays its own `ip netns exec`).
One untimed warm-up doctor run per scenario. Medians, min and max as Markdown.

Only 127.0.0.1 is dialled, on this machine or inside the namespace the bench creates; the
bench kills only the servers it started (their own sessions) and removes the namespace on
every exit. Needs root, iproute2 and nft; every subprocess has a timeout.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import FrameType
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
WEBAPP = str(ROOT / "tests" / "scenario" / "webapp.py")
CURL_MAX_TIME = 5
DOCTOR_TIMEOUT = 30.0
TOOL_TIMEOUT = 30.0
START_TIMEOUT = 15.0
SBIN = "/usr/local/sbin:/usr/sbin:/sbin"
BUNDLE: tuple[tuple[str, ...], ...] = (("ss", "-ltnp"), ("nft", "list", "ruleset"), ("getent", "hosts", "localhost"))
TABLE = "add table inet bench\nadd chain inet bench input { type filter hook input priority 0; }\n"


class Scenario(NamedTuple):
    name: str
    url: str
    prefix: tuple[str, ...]
    code: str
    status: int
    curl_status: int  # 0 answered, 7 refused, 28 --max-time reached


class Row(NamedTuple):
    scenario: Scenario
    portside: list[float]
    curl: list[float]
    bundle: list[float]
    codes: collections.Counter[tuple[str, ...]]


def which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path=SBIN)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def check(command: list[str], stdin: str | None = None) -> None:
    done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")


def start_webapp(prefix: tuple[str, ...]) -> tuple[subprocess.Popen[str], int]:
    """tests/scenario/webapp.py on 127.0.0.1 (HTTP 200), in a session of its own; the process and its port."""
    proc = subprocess.Popen([*prefix, sys.executable, WEBAPP, "127.0.0.1"], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
    line = proc.stdout.readline() if ready else ""
    if not line:
        stop(proc)
        raise RuntimeError(f"webapp did not report its port within {START_TIMEOUT:g} s")
    return proc, int(json.loads(line)["port"])


def stop(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)


def timed(command: list[str], timeout: float) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    return time.perf_counter() - began, done


def doctor(scenario: Scenario) -> tuple[float, tuple[str, ...]]:
    """One full CLI run, verified: its wall seconds and the finding codes it gave."""
    command = [*scenario.prefix, sys.executable, "-m", "portside", "doctor", scenario.url, "--json"]
    took, done = timed(command, DOCTOR_TIMEOUT)
    try:
        codes = tuple(finding["code"] for finding in json.loads(done.stdout)["findings"])
    except (ValueError, KeyError, TypeError):
        codes = ()
    if done.returncode != scenario.status or scenario.code not in codes:
        raise RuntimeError(
            f"{scenario.name}: expected exit {scenario.status} and code {scenario.code!r}, got exit "
            f"{done.returncode} and codes {list(codes)}\n$ {' '.join(command)}\nstdout: {done.stdout}\n"
            f"stderr: {done.stderr}"
        )
    return took, codes


def curl(scenario: Scenario) -> float:
    command = [*scenario.prefix, "curl", "-sS", "-o", "/dev/null", "--max-time", str(CURL_MAX_TIME), scenario.url]
    took, done = timed(command, CURL_MAX_TIME + TOOL_TIMEOUT)
    if done.returncode != scenario.curl_status:
        raise RuntimeError(f"{scenario.name}: curl exited {done.returncode}, expected {scenario.curl_status}: "
                           f"{done.stderr.strip()}")
    return took


def bundle(scenario: Scenario, tools: list[tuple[str, ...]]) -> float:
    total = 0.0
    for tool in tools:
        took, done = timed([*scenario.prefix, *tool], TOOL_TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"{scenario.name}: {' '.join(tool)} exited {done.returncode}: {done.stderr.strip()}")
        total += took
    return total


def measure(scenario: Scenario, trials: int, with_curl: bool, tools: list[tuple[str, ...]]) -> Row:
    print(f"{scenario.name}: {scenario.url}", file=sys.stderr, flush=True)
    doctor(scenario)  # warm-up: page cache, .pyc files
    row = Row(scenario, [], [], [], collections.Counter())
    for _ in range(trials):
        took, codes = doctor(scenario)
        row.portside.append(took)
        row.codes[codes] += 1
        if with_curl:
            row.curl.append(curl(scenario))
        if tools:
            row.bundle.append(bundle(scenario, tools))
    return row


def seconds(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}" if values else "–"


def codes_seen(row: Row) -> str:
    seen = [",".join(codes) + (f" ({count}x)" if len(row.codes) > 1 else "") for codes, count in row.codes.items()]
    return f"{' / '.join(seen)} (exit {row.scenario.status})"


def print_table(rows: list[Row]) -> None:
    print("| scenario | portside median s | portside min–max s | curl median s | evidence bundle median s "
          "| portside / curl | portside codes seen |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        ratio = f"{statistics.median(row.portside) / statistics.median(row.curl):.2f}x" if row.curl else "–"
        span = f"{min(row.portside):.3f}–{max(row.portside):.3f}"
        print(f"| {row.scenario.name} | {seconds(row.portside)} | {span} | {seconds(row.curl)} "
              f"| {seconds(row.bundle)} | {ratio} | {codes_seen(row)} |", flush=True)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so the finally below still stops the servers and removes the namespace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=7)
    args = parser.parse_args()
    if os.geteuid() != 0 or which("ip") is None or which("nft") is None:
        sys.exit("bench/doctor.py needs root, iproute2 (ip) and nft for its namespace scenarios")
    signal.signal(signal.SIGTERM, _terminate)
    with_curl = shutil.which("curl") is not None
    if not with_curl:
        print("note: curl is not installed; its anchor is skipped", file=sys.stderr)
    tools: list[tuple[str, ...]] = [tool for tool in BUNDLE if which(tool[0]) is not None]
    for tool in BUNDLE:
        if tool not in tools:
            print(f"note: {tool[0]} is not installed; left out of the evidence bundle", file=sys.stderr)

    servers: list[subprocess.Popen[str]] = []
    namespace: str | None = None
    rows: list[Row] = []
    overhead: list[float] = []
    try:
        app, port = start_webapp(())
        servers.append(app)
        rows.append(measure(Scenario("healthy", f"http://127.0.0.1:{port}/", (), "ok", 0, 0),
                            args.trials, with_curl, tools))
        rows.append(measure(Scenario("nothing listening", f"http://127.0.0.1:{free_port()}/", (),
                                     "nothing-listening", 1, 7), args.trials, with_curl, tools))

        namespace = f"ps-bench-{uuid.uuid4().hex[:8]}"
        check(["ip", "netns", "add", namespace])
        check(["ip", "-n", namespace, "link", "set", "lo", "up"])
        prefix = ("ip", "netns", "exec", namespace)
        app, port = start_webapp(prefix)
        servers.append(app)
        url = f"http://127.0.0.1:{port}/"
        for _ in range(args.trials):
            took, done = timed([*prefix, "true"], TOOL_TIMEOUT)
            if done.returncode != 0:
                raise RuntimeError(f"ip netns exec {namespace} true exited {done.returncode}")
            overhead.append(took)
        check([*prefix, "nft", "-f", "-"], TABLE + f"add rule inet bench input tcp dport {port} drop\n")
        rows.append(measure(Scenario("firewall drop (netns)", url, prefix, "firewall-drop", 1, 28),
                            args.trials, with_curl, tools))
        check([*prefix, "nft", "delete", "table", "inet", "bench"])
        check([*prefix, "nft", "-f", "-"], TABLE + f"add rule inet bench input tcp dport {port} reject with tcp reset\n")
        rows.append(measure(Scenario("firewall reject (netns)", url, prefix, "firewall-reject", 1, 7),
                            args.trials, with_curl, tools))
    finally:
        for proc in servers:
            stop(proc)
        if namespace is not None:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=TOOL_TIMEOUT, check=False)

    print(f"machine: {os.cpu_count()} cores, {os.uname().release}, Python {sys.version.split()[0]}; "
          f"medians of {args.trials} trials after one warm-up doctor run; wall seconds, spawn to exit")
    print_table(rows)
    print(f"\n`ip netns exec NS true` (netns-exec overhead, included once in the namespace rows' portside and curl "
          f"times, three times in their bundle): median {statistics.median(overhead):.3f} s, "
          f"{min(overhead):.3f}–{max(overhead):.3f} s")
    if with_curl:
        print(f"curl runs with --max-time {CURL_MAX_TIME}: against the drop it gives up after those {CURL_MAX_TIME} s "
              "(exit 28) without saying why; the evidence bundle only collects, a human still has to read it.")


if __name__ == "__main__":
    main()
