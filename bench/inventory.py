"""Benchmark `portside ls --json --tcp` against ss, lsof, netstat and psutil on a busy machine.

Why: portside's claim is that a full inventory (every listener and every owner, even
of sockets shared by forked workers) costs about what `ss -ltnp` costs. This measures
that claim where it is hardest: thousands of listeners over many processes.

For each scenario (1k listeners in 50 processes; 10k in 50; 10k in 50 that each fork a
child sharing its sockets) it starts bench/crowd.py, then
  - times the five commands side by side in one hyperfine run (-N, warm-up, medians),
  - measures each command's peak RSS (GNU time %M, median over runs),
  - splits portside's time in-process (bench/split.py) and adds start-up + imports
    (hyperfine, no crowd: bare python vs python importing exactly the modules a real
    `ls --json --tcp` run loads),
  - checks that portside reports the sockets and owners ss reports.
It prints a Markdown report (progress and hyperfine output go to stderr) and always
tears the crowd down. About a minute with the default 10 runs on 2 cores.

    python3 bench/inventory.py [--runs N] [--scenarios 1k,10k,10k-fork]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import select
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENV_BIN = BENCH.parent / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
PORTSIDE = str(VENV_BIN / "portside")
HYPERFINE = "/usr/bin/hyperfine"
TIME = "/usr/bin/time"  # GNU time (Debian package `time`)
WARMUP = 3
READY_TIMEOUT = 120.0  # seconds for the crowd to open its sockets
COMMAND_TIMEOUT = 300.0  # seconds for any one hyperfine or helper run

PSUTIL_CODE = "import psutil; [c for c in psutil.net_connections('tcp') if c.status == 'LISTEN']"
# Prints (comma-separated, in load order) the modules a real `ls --json --tcp` run loads
# beyond bare start-up; importing exactly those times start-up + imports of that path.
LOADED_CODE = (
    "import os, sys; before = set(sys.modules); real = sys.stdout; sys.stdout = open(os.devnull, 'w'); "
    "from portside.cli.main import main; main(['ls', '--json', '--tcp']); "
    "real.write(','.join(name for name, module in sys.modules.items() "
    "if name not in before and getattr(module, '__spec__', None) is not None))"  # not typing.io's alias
)

# label -> argv; "ss -ltnp" is the reference for ratios, "portside" the subject.
COMMANDS: dict[str, list[str]] = {
    "ss -ltnp": ["ss", "-ltnp"],
    "lsof -iTCP -sTCP:LISTEN -nP": ["lsof", "-iTCP", "-sTCP:LISTEN", "-nP"],
    "netstat -ltnp": ["netstat", "-ltnp"],
    "psutil.net_connections": [PYTHON, "-c", PSUTIL_CODE],
    "portside ls --json --tcp": [PORTSIDE, "ls", "--json", "--tcp"],
}
SS = "ss -ltnp"
SUBJECT = "portside ls --json --tcp"
SPLIT_STAGES = ("socket table", "owner walk", "process details", "interfaces", "assemble", "render", "other")


@dataclass(frozen=True)
class Scenario:
    name: str
    listeners: int
    processes: int
    fork: bool

    @property
    def description(self) -> str:
        forked = ", each forked once (2 owners per socket)" if self.fork else ""
        return f"{self.listeners:,} listeners in {self.processes} processes{forked}"


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("1k", 1_000, 50, False),
        Scenario("10k", 10_000, 50, False),
        Scenario("10k-fork", 10_000, 50, True),
    )
}


@dataclass(frozen=True)
class Check:
    ss_sockets: int
    portside_listeners: int
    portside_sockets: int
    owner_mismatches: int
    crowd_listeners: int
    crowd_with_expected_owners: int
    crowd_size: int

    @property
    def ok(self) -> bool:
        return (
            self.ss_sockets == self.portside_listeners == self.portside_sockets
            and self.owner_mismatches == 0
            and self.crowd_with_expected_owners == self.crowd_listeners == self.crowd_size
        )


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    median_ms: dict[str, float]
    peak_mb: dict[str, float]
    split_ms: dict[str, float]
    check: Check


def compiled() -> None:
    """Every source of the tree compiled to .pyc, as an installed package has them: a run under
    PYTHONDONTWRITEBYTECODE would otherwise compile each edited module again at every start-up."""
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(BENCH.parent / "src")], check=True,
                   stdout=subprocess.DEVNULL, timeout=COMMAND_TIMEOUT)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def crowd(scenario: Scenario) -> Iterator[int]:
    """Run bench/crowd.py for `scenario`; yields its pid (also its process group) once ready."""
    argv = [sys.executable, str(BENCH / "crowd.py"), str(scenario.listeners), str(scenario.processes)]
    if scenario.fork:
        argv.append("--fork")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, process_group=0)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        if line.strip() != "ready":
            raise RuntimeError(f"crowd for {scenario.name} did not become ready within {READY_TIMEOUT:g}s")
        yield proc.pid
    finally:
        proc.stdin.close()  # the crowd then SIGTERMs its own process group
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _end_group(proc.pid)


def _end_group(pgid: int) -> None:
    """Make sure no holder of the crowd's process group outlives it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def hyperfine(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median wall time (ms) of each command, all timed in one hyperfine run."""
    return {label: statistics.median(times) for label, times in hyperfine_times(commands, runs).items()}


def hyperfine_times(commands: dict[str, list[str]], runs: int, output: str = "null") -> dict[str, list[float]]:
    """Every run's wall time (ms) of each command, all timed in one hyperfine run; `output` is its --output."""
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "hyperfine.json"
        argv = [HYPERFINE, "-N", "--warmup", str(WARMUP), "--runs", str(runs), "--export-json", str(export),
                "--output", output]
        for label, command in commands.items():
            argv += ["--command-name", label, shlex.join(command)]
        subprocess.run(argv, check=True, stdout=sys.stderr, timeout=COMMAND_TIMEOUT)
        results = json.loads(export.read_text())["results"]
    return {item["command"]: [seconds * 1000 for seconds in item["times"]] for item in results}


def peak_rss_mb(command: list[str], runs: int) -> float:
    """Median over `runs` of the command's peak RSS (MB), by GNU time's %M.

    Spawned through /usr/bin/time, not from this process: a child forked or vforked
    from Python starts with the parent's RSS high-water mark and would report it.
    """
    peaks = []
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "maxrss"
        for _ in range(runs):
            argv = [TIME, "-f", "%M", "-o", str(output), *command]
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, timeout=COMMAND_TIMEOUT)
            peaks.append(int(output.read_text().split()[-1]) / 1024)  # %M is in KiB
    return statistics.median(peaks)


def split(runs: int) -> dict[str, float]:
    """portside's in-process stage medians (ms), from bench/split.py."""
    argv = [PYTHON, str(BENCH / "split.py"), str(runs)]
    done = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True, timeout=COMMAND_TIMEOUT)
    medians: dict[str, float] = json.loads(done.stdout)
    return medians


def imports_code() -> str:
    """`import ...` of every module `portside ls --json --tcp` loads beyond bare start-up."""
    done = subprocess.run([PYTHON, "-c", LOADED_CODE], check=True, capture_output=True, text=True, timeout=60)
    return "import " + ", ".join(done.stdout.split(","))


def _process_group(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return int(stat[stat.rindex(b")") + 2 :].split()[2])  # field 5, pgrp


def check(scenario: Scenario, crowd_pgid: int) -> Check:
    """Compare portside's listeners and owners with ss's, socket by socket (by inode)."""
    ss_out = subprocess.run(["ss", "-Hltnpe"], check=True, capture_output=True, text=True).stdout
    ss_owners: dict[int, set[int]] = {}
    for line in ss_out.splitlines():
        inode = re.search(r"\bino:(\d+)", line)
        if inode is None:
            raise RuntimeError(f"no inode in ss line: {line!r}")
        ss_owners[int(inode.group(1))] = {int(pid) for pid in re.findall(r"\bpid=(\d+)", line)}
    ours = json.loads(subprocess.run([PORTSIDE, "ls", "--json", "--tcp"], check=True, capture_output=True).stdout)
    listeners = ours["listeners"]
    mismatches = 0
    crowd_listeners = 0
    crowd_ok = 0
    expected = 2 if scenario.fork else 1
    group: dict[int, int | None] = {}
    for listener in listeners:
        pids = {process["pid"] for process in listener["processes"]}
        theirs = set().union(*(ss_owners.get(inode, {-1}) for inode in listener["inodes"]))
        mismatches += pids != theirs
        if any(group.setdefault(pid, _process_group(pid)) == crowd_pgid for pid in pids):
            crowd_listeners += 1
            crowd_ok += len(pids) == expected
    return Check(
        ss_sockets=len(ss_owners),
        portside_listeners=len(listeners),
        portside_sockets=sum(len(listener["inodes"]) for listener in listeners),
        owner_mismatches=mismatches,
        crowd_listeners=crowd_listeners,
        crowd_with_expected_owners=crowd_ok,
        crowd_size=scenario.listeners,
    )


def run_scenario(scenario: Scenario, runs: int) -> Result:
    log(f"== {scenario.name}: starting crowd ({scenario.description})")
    with crowd(scenario) as pgid:
        log(f"== {scenario.name}: hyperfine, {runs} runs per command")
        medians = hyperfine(COMMANDS, runs)
        log(f"== {scenario.name}: peak memory, {runs} runs per command")
        peaks = {label: peak_rss_mb(command, runs) for label, command in COMMANDS.items()}
        log(f"== {scenario.name}: portside time split, {runs} runs")
        stages = split(runs)
        log(f"== {scenario.name}: correctness check")
        verdict = check(scenario, pgid)
    return Result(scenario, medians, peaks, stages, verdict)


def first_line(argv: list[str]) -> str:
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    return (done.stdout or done.stderr).strip().splitlines()[0]


def portside_revision() -> str:
    """The commit measured, and whether src/ had uncommitted edits at the time."""
    root = str(BENCH.parent)
    head = first_line(["git", "-C", root, "rev-parse", "--short", "HEAD"])
    status = ["git", "-C", root, "status", "--porcelain", "--", "src"]
    dirty = subprocess.run(status, check=True, capture_output=True, text=True).stdout.strip()
    return f"commit {head}" + (" plus uncommitted changes in src/" if dirty else "")


def host() -> list[str]:
    """Markdown bullet lines describing this machine: cores, CPU model, kernel."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown")
    return [f"- nproc: {len(os.sched_getaffinity(0))}; CPU: {cpu}", f"- kernel (`uname -r`): {platform.release()}"]


def machine() -> list[str]:
    """Markdown bullet lines describing this machine and the tools' versions."""
    lsof_v = subprocess.run(["lsof", "-v"], check=False, capture_output=True, text=True).stderr
    lsof = re.search(r"revision:\s*(\S+)", lsof_v)
    tools = [first_line(["ss", "-V"]), f"lsof {lsof.group(1) if lsof else 'unknown'}",
             first_line(["netstat", "-V"]), first_line([HYPERFINE, "--version"])]
    psutil_version = first_line([PYTHON, "-c", "import psutil; print(psutil.__version__)"])
    return [
        *host(),
        f"- Python (portside's venv): {first_line([PYTHON, '-V'])}; psutil {psutil_version}",
        f"- portside: {portside_revision()}",
        f"- tools: {'; '.join(tools)}",
    ]


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _verdict(met: bool) -> str:
    return "**met**" if met else "**NOT met**"


def goals(results: dict[str, Result]) -> list[str]:
    """One line per goal: met or not, with the measured number; unmeasured goals say so."""
    lines = []
    for name, limit in (("10k", 1.0), ("10k-fork", 0.8), ("1k", 2.0)):
        if name not in results:
            lines.append(f"- {name}: portside <= {limit:.1f}x ss -ltnp: not measured")
            continue
        ratio = results[name].median_ms[SUBJECT] / results[name].median_ms[SS]
        lines.append(f"- {name}: portside <= {limit:.1f}x ss -ltnp: {_verdict(ratio <= limit)} ({ratio:.2f}x)")
    for rival in ("psutil.net_connections", "lsof -iTCP -sTCP:LISTEN -nP"):
        ratios = {name: r.median_ms[SUBJECT] / r.median_ms[rival] for name, r in results.items()}
        shown = ", ".join(f"{name} {ratio:.2f}x" for name, ratio in ratios.items())
        met = all(ratio < 1 for ratio in ratios.values())
        lines.append(f"- always faster than {rival}: {_verdict(met)} (portside / {rival.split()[0]}: {shown})")
    peak = max(r.peak_mb[SUBJECT] for r in results.values())
    lines.append(f"- portside peak memory < 60 MB: {_verdict(peak < 60)} (max {peak:.1f} MB)")
    checks_ok = all(r.check.ok for r in results.values())
    lines.append(f"- correctness (same sockets and owners as ss; 2 pids per forked listener): {_verdict(checks_ok)}")
    return lines


def _wall_section(results: dict[str, Result], runs: int) -> list[str]:
    out = [
        "## Wall time (median) and peak memory",
        "",
        (
            f"hyperfine -N, {WARMUP} warm-up runs and {runs} runs per command, the five commands in one hyperfine "
            f"run per scenario; peak memory is the median of GNU time's %M (max RSS) over {runs} runs."
        ),
        "",
    ]
    for result in results.values():
        ss = result.median_ms[SS]
        rows = [
            [f"`{label}`", f"{result.median_ms[label]:.1f}", f"{result.median_ms[label] / ss:.2f}x",
             f"{result.peak_mb[label]:.1f}"]
            for label in COMMANDS
        ]
        out += [f"### {result.scenario.name}: {result.scenario.description}", ""]
        out += [*table(["command", "median ms", "vs ss -ltnp", "peak RSS MB"], rows), ""]
    return out


SPLIT_NOTE = (
    "Start-up and imports: hyperfine of `python -c pass` and of `python -c \"import ...\"` of exactly the modules "
    "a real `ls --json --tcp` run loads beyond bare start-up (no crowd). The other stages: bench/split.py, "
    "`time.perf_counter` in-process around the functions `portside ls --json --tcp` calls: socket table = "
    "`inventory._linux.raw_sockets` (netlink dump + decode), owner walk = `_owners.start` + `PendingWalk.finish` "
    "(overlaps the socket table), process details = `_procfs.process_info` per owner, interfaces = "
    "`_linux.interfaces`, assemble = `assemble`, render = "
    "`inventory_text` (the JSON encoding), other = the rest of `main` (argparse, the snapshot's inode set "
    "and owners dict, user names). Medians per stage, so the sum is approximate."
)


def _split_section(results: dict[str, Result], startup_ms: dict[str, float]) -> list[str]:
    names = list(results)
    bare = startup_ms["bare"]
    imports = startup_ms["imports"] - bare
    rows = [
        ["interpreter start-up (`python -c pass`)", *[f"{bare:.1f}" for _ in names]],
        ["imports of the `ls` path", *[f"{imports:.1f}" for _ in names]],
    ]
    rows += [[stage, *[f"{results[n].split_ms[stage]:.1f}" for n in names]] for stage in SPLIT_STAGES]
    sums = {n: bare + imports + sum(results[n].split_ms[stage] for stage in SPLIT_STAGES) for n in names}
    walls = {n: results[n].median_ms[SUBJECT] for n in names}
    rows += [
        ["**sum**", *[f"**{sums[n]:.1f}**" for n in names]],
        ["hyperfine wall time of the command", *[f"{walls[n]:.1f}" for n in names]],
        ["wall - sum (exit and teardown, noise)", *[f"{walls[n] - sums[n]:.1f}" for n in names]],
    ]
    return ["## portside time split (medians, ms)", "", SPLIT_NOTE, "", *table(["stage", *names], rows), ""]


def _check_section(results: dict[str, Result]) -> list[str]:
    headers = ["scenario", "ss sockets", "portside listeners", "portside sockets", "owner sets differing from ss",
               "crowd listeners with 1 pid (2 if forked)", "verdict"]
    rows = [
        [n, str(r.check.ss_sockets), str(r.check.portside_listeners), str(r.check.portside_sockets),
         str(r.check.owner_mismatches), f"{r.check.crowd_with_expected_owners}/{r.check.crowd_size}",
         "ok" if r.check.ok else "FAILED"]
        for n, r in results.items()
    ]
    return ["## Correctness", "", *table(headers, rows), ""]


def report(results: dict[str, Result], startup_ms: dict[str, float], runs: int, command: str) -> str:
    """The whole Markdown report."""
    out = ["# Inventory benchmark: `portside ls --json --tcp`", "", "## Machine", "", *machine(), ""]
    out += ["## Command", "", "```sh", command, "```", ""]
    out += _wall_section(results, runs)
    out += _split_section(results, startup_ms)
    out += _check_section(results)
    out += ["## Goals", "", *goals(results), ""]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="runs per command and per measurement (default 10)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    args = parser.parse_args()
    names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names or args.runs < 1:
        parser.error(f"unknown scenario(s) {unknown}" if unknown else "need at least one scenario and one run")
    compiled()
    command = shlex.join(["python3", "bench/inventory.py", "--runs", str(args.runs), "--scenarios", ",".join(names)])
    log("== start-up and imports (no crowd)")
    startup = hyperfine({"bare": [PYTHON, "-c", "pass"], "imports": [PYTHON, "-c", imports_code()]}, args.runs)
    results = {name: run_scenario(SCENARIOS[name], args.runs) for name in names}
    print(report(results, startup, args.runs, command))


if __name__ == "__main__":
    main()
