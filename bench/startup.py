"""Start-up time of the CLI at a baseline commit and now, side by side in one hyperfine run.

Why: start-up is a feature (DESIGN.md), and a package that grows folders, a public API and
more modules can pay for it at every run. This times `portside ls --json`, `portside ls`
(stdout a pipe: plain columns), `portside --help` and `portside --version` for two checkouts
of this repository, with `python -c pass` and `ss -ltnp` as references:
  - the baseline (default 24a3aa8, the last commit before the capability folders): a
    `git worktree add` under /tmp with a venv of its own (`pip install -e`, as .venv is),
    removed afterwards whatever happens;
  - the current tree, with its .venv.
All commands run in one hyperfine run (-N, warm-up, then medians over --runs runs, the two
checkouts of a command next to each other so drift in the machine's load hits both alike).
A command a checkout does not support (exit status other than 0) is skipped for it. It
prints a Markdown report (progress and hyperfine output go to stderr). About a minute with
the default 30 runs on 2 cores, most of it installing the baseline.

    python3 bench/startup.py [--baseline REV] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from inventory import (
    COMMAND_TIMEOUT,
    HYPERFINE,
    PYTHON,
    WARMUP,
    compiled,
    first_line,
    host,
    hyperfine_times,
    log,
    table,
)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "24a3aa8"
RUNS = 30
PYTHON_PASS = "python -c pass"
SS = "ss -ltnp"
# label -> arguments after `portside`
VERBS: dict[str, list[str]] = {
    "portside ls --json": ["ls", "--json"],
    "portside ls (piped)": ["ls"],
    "portside --help": ["--help"],
    "portside --version": ["--version"],
}
MUST_NOT_REGRESS = ("portside ls --json", "portside --help")
CHECKOUTS = ("baseline", "current")


def git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT)
    return done.stdout.strip()


@contextmanager
def baseline_checkout(revision: str) -> Iterator[Path]:
    """`revision` checked out under /tmp with its own venv; yields the venv's bin directory."""
    scratch = Path(tempfile.mkdtemp(prefix="portside-startup-"))
    tree = scratch / "tree"
    try:
        git("worktree", "add", "--detach", str(tree), revision)
        venv = tree / ".venv"
        log(f"== installing {revision} into {venv}")
        for argv in ([PYTHON, "-m", "venv", str(venv)], [str(venv / "bin" / "pip"), "install", "-q", "-e", str(tree)]):
            done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{shlex.join(argv)} failed:\n{done.stdout}{done.stderr}")
        yield venv / "bin"
    finally:
        if tree.exists():
            git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(scratch, ignore_errors=True)
        git("worktree", "prune")


def works(argv: list[str]) -> bool:
    """Whether a command exits 0 (the baseline has no `--version`, for one)."""
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=COMMAND_TIMEOUT,
                          check=False)
    return done.returncode == 0


def commands(bins: dict[str, Path]) -> tuple[dict[str, list[str]], list[str]]:
    """What to time (label -> argv, each verb's checkouts side by side), and what was skipped and why."""
    timed: dict[str, list[str]] = {PYTHON_PASS: [PYTHON, "-c", "pass"], SS: ["ss", "-ltnp"]}
    skipped = []
    for verb, args in VERBS.items():
        for checkout, bin_dir in bins.items():
            argv = [str(bin_dir / "portside"), *args]
            if works(argv):
                timed[f"{verb} @ {checkout}"] = argv
            else:
                skipped.append(f"`{verb}` at {checkout}: exit status not 0 (unsupported there)")
    return timed, skipped


def _quartiles(times: list[float]) -> tuple[float, float, float]:
    low, middle, high = statistics.quantiles(times, n=4)
    return low, middle, high


def _ms(value: float) -> str:
    return f"{value:.1f}"


def _spread(times: list[float]) -> str:
    low, middle, high = _quartiles(times)
    return f"{_ms(middle)} ({_ms(low)}–{_ms(high)})"


def wall_table(times: dict[str, list[float]]) -> list[str]:
    """One row a verb: each checkout's median (and quartiles), current / baseline in all and beyond `python -c pass`."""
    python = statistics.median(times[PYTHON_PASS])
    rows = []
    for verb in VERBS:
        found = {checkout: times[f"{verb} @ {checkout}"] for checkout in CHECKOUTS if f"{verb} @ {checkout}" in times}
        cells = [_spread(found[checkout]) if checkout in found else "skipped" for checkout in CHECKOUTS]
        ratio = beyond = ""
        if len(found) == len(CHECKOUTS):
            before, after = (statistics.median(found[checkout]) for checkout in CHECKOUTS)
            ratio = f"{after / before:.2f}x"
            if before > python:
                own_before, own_after = before - python, after - python
                beyond = f"{own_after / own_before:.2f}x ({_ms(own_before)} -> {_ms(own_after)})"
        rows.append([f"`{verb}`", *cells, ratio, beyond])
    headers = ["command", "baseline ms", "current ms", "current / baseline", "beyond `python -c pass`"]
    return table(headers, rows)


def goals(times: dict[str, list[float]]) -> list[str]:
    """Whether the verbs that must not regress did not: met, within noise (inside the baseline's quartiles), or not."""
    lines = []
    for verb in MUST_NOT_REGRESS:
        before, after = (times.get(f"{verb} @ {checkout}") for checkout in CHECKOUTS)
        if before is None or after is None:
            lines.append(f"- `{verb}` no slower than at baseline: not measured")
            continue
        ratio = statistics.median(after) / statistics.median(before)
        _, _, high = _quartiles(before)
        verdict = ("**met**" if ratio <= 1 else "**within noise**" if statistics.median(after) <= high
                   else "**NOT met**")
        lines.append(f"- `{verb}` no slower than at baseline: {verdict} ({ratio:.2f}x)")
    return lines


def report(times: dict[str, list[float]], skipped: list[str], revisions: dict[str, str], runs: int, command: str,
           load: tuple[str, str]) -> str:
    """The whole Markdown report."""
    out = ["# Start-up benchmark: baseline and current checkout", "", "## Machine", "", *host()]
    out += [f"- Python (both venvs): {first_line([PYTHON, '-V'])}; {first_line([HYPERFINE, '--version'])}",
            f"- load average (1 min) at start and end: {load[0]}, {load[1]}", ""]
    out += ["## Checkouts", "", *(f"- {name}: {revision}" for name, revision in revisions.items()), ""]
    out += ["## Command", "", "```sh", command, "```", ""]
    how = (f"hyperfine -N, {WARMUP} warm-up runs and {runs} runs per command, all commands in one hyperfine run, "
           "stdout a pipe. The last column compares each checkout's time less bare interpreter start-up.")
    out += ["## Wall time (median ms, quartiles in brackets)", "", how, "", *wall_table(times), "",
            f"References in the same run: `{PYTHON_PASS}` {_spread(times[PYTHON_PASS])}, `{SS}` {_spread(times[SS])}.",
            ""]
    if skipped:
        out += ["Skipped: " + "; ".join(skipped) + ".", ""]
    out += ["## Goals", "", *goals(times), ""]
    return "\n".join(out)


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=BASELINE, help=f"the commit to compare with (default {BASELINE})")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs per command (default {RUNS})")
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("need at least two runs")
    compiled()
    current = ROOT / ".venv" / "bin"
    if not (current / "portside").exists():
        parser.error(f"no {current / 'portside'}: python3 -m venv .venv && .venv/bin/pip install -e . first")
    try:
        baseline = git("rev-parse", "--verify", "--short", f"{args.baseline}^{{commit}}")
    except subprocess.CalledProcessError:
        parser.error(f"{args.baseline!r} is not a commit of this repository")
    edited = " plus uncommitted changes in src/" if git("status", "--porcelain", "--", "src") else ""
    revisions = {
        "baseline": f"commit {baseline} of {git('log', '-1', '--format=%cs', baseline)}",
        "current": f"commit {git('rev-parse', '--short', 'HEAD')}{edited}",
    }
    command = shlex.join(["python3", "bench/startup.py", "--baseline", args.baseline, "--runs", str(args.runs)])
    started = _load()
    with baseline_checkout(baseline) as old:
        timed, skipped = commands({"baseline": old, "current": current})
        log(f"== hyperfine, {args.runs} runs per command")
        times = hyperfine_times(timed, args.runs, output="pipe")
    print(report(times, skipped, revisions, args.runs, command, (started, _load())))


if __name__ == "__main__":
    main()
