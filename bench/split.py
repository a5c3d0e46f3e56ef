"""Where `portside ls --json --tcp` spends its time, measured in-process.

Runs the real CLI entry point (`portside.cli.main.main`) several times with each stage
function wrapped by a `time.perf_counter` timer, so the split follows the code path the
command takes rather than a copy of it. Prints one JSON object of medians in ms:

    python bench/split.py RUNS   (with the venv's python; the first run is a warm-up)

Stages (in portside.inventory's private adapters): socket table (`_linux.raw_sockets`: netlink
dump + decode), owner walk (`_owners.start` + `PendingWalk.finish`), process details
(`_procfs.process_info`, per owner pid), interfaces (`_linux.interfaces`), assemble (`assemble`), render (`inventory_text`: the
JSON encoding), and other (the rest of `main`: argparse,
backend choice, the snapshot's glue — inode set, owners dict — user names, selection).
Start-up and imports are not in here: the driver (bench/inventory.py) times those
with hyperfine.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from types import ModuleType
from typing import Any

import portside.cli.ls
import portside.inventory
from portside.cli.main import main
from portside.inventory import _linux as linux
from portside.inventory import _owners as owners
from portside.inventory import _procfs as procfs

ARGV = ["ls", "--json", "--tcp"]

# (stage name, module, attribute the code path looks up at call time)
STAGES: list[tuple[str, ModuleType | type, str]] = [
    ("socket table", linux, "raw_sockets"),
    ("owner walk", owners, "start"),
    ("owner walk", owners.PendingWalk, "finish"),
    ("process details", procfs, "process_info"),
    ("interfaces", linux, "interfaces"),
    ("assemble", portside.inventory, "assemble"),
    ("render", portside.cli.ls, "inventory_text"),
]
REQUIRED = ("socket table", "owner walk", "assemble", "render")


class Clock:
    """Accumulated seconds and call counts per stage for the current run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def reset(self) -> None:
        self.seconds = {name: 0.0 for name, _, _ in STAGES}
        self.calls = {name: 0 for name, _, _ in STAGES}

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1

        return timed


def measure(runs: int) -> dict[str, float]:
    """Median ms per stage over `runs` runs of `portside ls --json --tcp`, after one warm-up."""
    clock = Clock()
    for name, module, attribute in STAGES:
        setattr(module, attribute, clock.wrap(name, getattr(module, attribute)))
    samples: dict[str, list[float]] = {}
    # As when piped to /dev/null: main() takes its streams (and tty-ness) from sys.
    with open(os.devnull, "w") as devnull, redirect_stdout(devnull), redirect_stderr(devnull):
        for run in range(runs + 1):
            clock.reset()
            start = time.perf_counter()
            if main(ARGV) != 0:
                raise SystemExit(f"portside {' '.join(ARGV)} failed")
            total = time.perf_counter() - start
            missing = [name for name in REQUIRED if not clock.calls[name]]
            if missing:
                raise SystemExit(f"stage(s) {', '.join(missing)} never ran: portside's call path changed")
            if run == 0:
                continue
            for name, seconds in clock.seconds.items():
                samples.setdefault(name, []).append(seconds * 1000)
            samples.setdefault("other", []).append((total - sum(clock.seconds.values())) * 1000)
            samples.setdefault("total", []).append(total * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


if __name__ == "__main__":
    json.dump(measure(int(sys.argv[1])), sys.stdout)
    print()
