"""A real Vite app of 300+ ES modules loaded cold in headless Chromium: directly, and through the proxies.

    python3 bench/pageload.py [--runs 9] [--modules 320]

Why: what a developer feels of a proxy in front of a dev server is a page of hundreds of
modules, each its own request (Vite serves them unbundled), not wrk's one URL. The bench
generates an app (index.html, main.js importing 20 branches that import the rest; each
module a few hundred bytes of code, and main.js checks every module ran), serves it with
Vite (npm, pinned in bench/pageload/package.json: `npm ci --prefix bench/pageload`) on
127.0.0.1, and loads it in Debian's Chromium (Playwright, a fresh browser context per
load, so nothing is cached):
  - direct: http://127.0.0.1:PORT/
  - portside, http://: http://pageload.localhost:PROXY/ (`portside alias` to Vite)
  - portside, https:// with HTTP/2: the same proxy port with the bench's own CA made by
    `proxy serve --https` under a temp PORTSIDE_HOME (Chromium is told to ignore
    certificate errors; no trust store is touched)
  - portless 0.15.6 (`--no-tls --skip-trust`, as bench/proxy.py runs it), when installed
Each target is loaded once to warm Vite's transform cache, then --runs times, the targets
interleaved in a new random order each round. Reported: the median Navigation Timing
`loadEventEnd` (with quartiles), its ratio to direct (goal: at most 1.15x), the protocol
the page came over and how many modules it loaded. Loopback only; everything it starts
it stops by pid.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from proxy import PORTLESS_CLI, Processes, free_port, get, start_portless, start_portside, wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parent.parent
VITE_DIR = ROOT / "bench" / "pageload"
VITE = VITE_DIR / "node_modules" / "vite" / "bin" / "vite.js"
CHROMIUM = "/usr/bin/chromium"
NAME = "pageload"
BRANCHES = 20
GOAL = 1.15
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--ignore-certificate-errors"]
MEASURE = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    return {load: nav.loadEventEnd, protocol: nav.nextHopProtocol,
            modules: performance.getEntriesByType('resource').filter(r => r.name.includes('/src/')).length,
            ran: document.body.dataset.ran};
}"""


class Target(NamedTuple):
    name: str
    url: str


class Load(NamedTuple):
    load_ms: float
    protocol: str
    modules: int


def generate(app: Path, modules: int) -> None:
    """index.html and src/: main.js imports BRANCHES branch modules, each importing its share of the leaves."""
    src = app / "src"
    src.mkdir(parents=True)
    leaves = modules - BRANCHES - 1
    for leaf in range(leaves):
        body = "\n".join(f"  total += {leaf} * {line} % 7;" for line in range(12))
        (src / f"leaf{leaf}.js").write_text(
            f"// leaf {leaf}: a few hundred bytes of code, as a component of a real app\n"
            f"export function leaf{leaf}() {{\n  let total = 0;\n{body}\n  return 1;\n}}\n")
    for branch in range(BRANCHES):
        mine = range(branch, leaves, BRANCHES)
        imports = "".join(f"import {{ leaf{leaf} }} from './leaf{leaf}.js';\n" for leaf in mine)
        calls = " + ".join(f"leaf{leaf}()" for leaf in mine) or "0"
        (src / f"branch{branch}.js").write_text(f"{imports}export function branch{branch}() {{ return {calls}; }}\n")
    imports = "".join(f"import {{ branch{branch} }} from './branch{branch}.js';\n" for branch in range(BRANCHES))
    calls = " + ".join(f"branch{branch}()" for branch in range(BRANCHES))
    (src / "main.js").write_text(f"{imports}document.body.dataset.ran = String({calls});\n")
    (app / "index.html").write_text('<!doctype html>\n<html><head><meta charset="utf-8"><title>pageload</title></head>\n'
                                    '<body><script>performance.setResourceTimingBufferSize(4096)</script>\n'
                                    '<script type="module" src="/src/main.js"></script></body></html>\n')


def start_vite(procs: Processes, app: Path, tmp: Path) -> int:
    port = free_port()
    log = tmp / "vite.log"
    node = shutil.which("node") or "node"
    proc = procs.start([node, str(VITE), str(app), "--host", "127.0.0.1", "--port", str(port), "--strictPort"],
                       env={**os.environ, "NO_COLOR": "1"}, log=log, cwd=app)

    def up() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True

    wait_until("vite", up, proc, log)
    return port


def answers(port: int) -> bool:
    """The app's page comes through the proxy's route."""
    return get(port, host=f"{NAME}.localhost:{port}")[0] == 200


def load(browser: Browser, target: Target, expected: str) -> Load:
    """One cold load in a fresh context: Navigation Timing's loadEventEnd, once main.js says every module ran."""
    context = browser.new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        page.goto(target.url, wait_until="load", timeout=60_000)
        page.wait_for_function("() => document.body.dataset.ran !== undefined", timeout=30_000)
        seen = page.evaluate(MEASURE)
        if seen["ran"] != expected:
            raise RuntimeError(f"{target.name}: the app computed {seen['ran']!r}, expected {expected!r}")
        return Load(float(seen["load"]), str(seen["protocol"]), int(seen["modules"]))
    finally:
        context.close()


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    low, _middle, high = statistics.quantiles(values, n=4)
    return low, statistics.median(values), high


def report(targets: list[Target], loads: dict[str, list[Load]], runs: int, modules: int, skipped: list[str]) -> str:
    direct = statistics.median(item.load_ms for item in loads["direct"])
    rows = ["| target | loadEventEnd median ms (quartiles) | vs direct | goal (<= 1.15x) | protocol | modules |",
            "| --- | --- | --- | --- | --- | --- |"]
    for target in targets:
        times = [item.load_ms for item in loads[target.name]]
        low, middle, high = quartiles(times)
        ratio = middle / direct
        goal = "" if target.name == "direct" else ("met" if ratio <= GOAL else "**NOT met**")
        protocols = "/".join(sorted({item.protocol for item in loads[target.name]}))
        count = "/".join(str(n) for n in sorted({item.modules for item in loads[target.name]}))
        rows.append(f"| {target.name} | {middle:.0f} ({low:.0f}–{high:.0f}) | {ratio:.2f}x | {goal} | {protocols} "
                    f"| {count} |")
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    node = subprocess.run([shutil.which("node") or "node", "--version"], capture_output=True, text=True,
                          check=False).stdout.strip()
    vite = json.loads((VITE_DIR / "node_modules" / "vite" / "package.json").read_text())["version"]
    head = [f"- machine: {os.cpu_count()} cores, kernel {os.uname().release}; {chromium}; Node {node}; Vite {vite}",
            (f"- the app: {modules} modules (index.html, main.js, {BRANCHES} branches, {modules - BRANCHES - 1} leaves); "
            f"{runs} cold loads per target (a fresh browser context each), interleaved, after one warm-up load each"),
            f"- command: `python3 bench/pageload.py {' '.join(sys.argv[1:])}`".rstrip()]
    if skipped:
        head.append(f"- skipped: {'; '.join(skipped)}")
    return "\n".join([*head, "", *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--modules", type=int, default=320)
    args = parser.parse_args()
    if not VITE.exists():
        raise SystemExit("Vite is not installed: npm ci --prefix bench/pageload")
    from playwright.sync_api import sync_playwright

    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="portside-pageload-"))
    try:
        app = tmp / "app"
        generate(app, args.modules)
        expected = str(args.modules - BRANCHES - 1)  # every leaf returns 1
        vite = start_vite(procs, app, tmp)
        proxy = start_portside(procs, tmp, vite, NAME, answers, https=True).port
        targets = [Target("direct", f"http://127.0.0.1:{vite}/"),
                   Target("portside http://", f"http://{NAME}.localhost:{proxy}/"),
                   Target("portside https:// (h2)", f"https://{NAME}.localhost:{proxy}/")]
        skipped = []
        if PORTLESS_CLI.exists():
            portless = start_portless(procs, tmp, vite, NAME, answers).port
            targets.append(Target("portless http://", f"http://{NAME}.localhost:{portless}/"))
        else:
            skipped.append("portless (npm ci --prefix bench/portless)")
        loads: dict[str, list[Load]] = {target.name: [] for target in targets}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for target in targets:
                load(browser, target, expected)
            for run in range(args.runs):
                order = random.sample(targets, len(targets))
                for target in order:
                    loads[target.name].append(load(browser, target, expected))
                print(f"run {run + 1}/{args.runs}: " + ", ".join(f"{t.name} {loads[t.name][-1].load_ms:.0f} ms"
                                                                 for t in targets), file=sys.stderr, flush=True)
                time.sleep(0.2)
            browser.close()
        print(report(targets, loads, args.runs, args.modules, skipped))
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
