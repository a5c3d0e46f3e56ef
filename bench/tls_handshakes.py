"""TLS handshakes per second on the proxy's https:// port, at a baseline commit and now, side by side.

Why: the proxy picks a certificate per SNI name (router/tls/sni.py); limiting which names get
a leaf of their own must not slow down the names that route. For each checkout (the baseline's
src/ exported with `git archive` under /tmp and put first on PYTHONPATH, the current tree as
installed in .venv), each run starts `python -m portside proxy serve` on a free 127.0.0.1 port
with a PORTSIDE_HOME of its own, makes the local CA, adds `portside alias bench PORT`, and times
three kinds of full handshakes (TLS 1.3, a new TCP connection each, no session resumption),
--threads at a time from this process:
  routed    --handshakes to bench.localhost, the leaf verified against the CA (after 100 to warm up)
  unknown   --handshakes, each to a new name r{i}.localhost (what a hostile page can make a browser do)
  minting   400 first handshakes to s{i}.bench.localhost (a routed subdomain: a leaf is made for each)
Reported per kind: median handshakes/s and proxy CPU ms per handshake (utime+stime of the proxy
process), and for `unknown` the leaf files made and the proxy's VmRSS growth. On a shared machine
those move by ±10% between runs of the same code, so each run also times the least noisy measure:
in a child process of that checkout, 1,000 handshakes to bench.localhost through memory BIOs (no
sockets, no other process) against the proxy's own `Certificates` context, client and server in
one thread; the best of 5, CPU ms per handshake, and the SNI callback's own µs. The checkouts' order
alternates run by run, so drift in the machine's load hits both alike. Only 127.0.0.1 is dialled; the proxy is
stopped by its pid in a finally; temp dirs are removed.

    .venv/bin/python bench/tls_handshakes.py [--baseline REV] [--runs 3] [--handshakes 2000] [--threads 8]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from inventory import first_line, host, log, table
from proxy import TOOL_TIMEOUT, Processes, export_src, free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "c9d7785"
NAME = "bench"
WARMUP = 100
MINTS = 400
IN_MEMORY = 1000
KINDS = ("routed", "unknown", "minting")


class InMemory(NamedTuple):
    cpu_ms: float  # client + server CPU per handshake
    callback_us: float  # of which in the SNI callback


class Measured(NamedTuple):
    rate: float  # handshakes per second
    cpu_ms: float  # proxy CPU per handshake
    files: int  # leaf files made
    rss_kb: int  # proxy VmRSS growth


def _handshake(port: int, name: str, context: ssl.SSLContext) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=name) as sock:
        assert sock.version() == "TLSv1.3"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kb(pid: int) -> int:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1])


def _leaves(home: Path) -> int:
    return len(list((home / "tls" / "hosts").glob("*.pem")))


def _timed(pid: int, home: Path, threads: int, handshake: Callable[[str], None], names: Iterable[str]) -> Measured:
    names = list(names)
    cpu, rss, files, began = _cpu_seconds(pid), _rss_kb(pid), _leaves(home), time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(handshake, names))
    took = time.monotonic() - began
    return Measured(len(names) / took, (_cpu_seconds(pid) - cpu) * 1000 / len(names), _leaves(home) - files,
                    _rss_kb(pid) - rss)


def one_run(src: Path | None, handshakes: int, threads: int) -> dict[str, Measured]:
    """Start a proxy from `src` (None: the installed tree), time each kind of handshake, stop it."""
    procs = Processes()
    with tempfile.TemporaryDirectory(prefix="portside-tls-bench-") as scratch:
        home, port = Path(scratch) / "home", free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTSIDE_") and k != "PYTHONPATH"}
        env.update(PORTSIDE_HOME=str(home), PORTSIDE_PROXY_PORT=str(port))
        if src is not None:
            env["PYTHONPATH"] = str(src)

        def portside(*args: str) -> None:
            subprocess.run([sys.executable, *args], env=env, cwd=scratch, check=True, capture_output=True,
                           timeout=TOOL_TIMEOUT)

        try:
            portside("-c", "from portside.router.tls.localca import ensure_ca; ensure_ca()")
            proxy_log = Path(scratch) / "proxy.log"
            proc = procs.start([sys.executable, "-m", "portside", "proxy", "serve", "--port", str(port)], env=env,
                               log=proxy_log, cwd=Path(scratch))
            wait_until("portside proxy record", lambda: (home / "proxy.json").exists(), proc, proxy_log)
            portside("-m", "portside", "alias", NAME, str(free_port()))
            verified = ssl.create_default_context(cafile=str(home / "tls" / "ca.pem"))
            unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
            routed = f"{NAME}.localhost"
            for _ in range(WARMUP):
                _handshake(port, routed, verified)
            return {
                "routed": _timed(proc.pid, home, threads, lambda name: _handshake(port, name, verified),
                                 [routed] * handshakes),
                "unknown": _timed(proc.pid, home, threads, lambda name: _handshake(port, name, unverified),
                                  (f"r{i}.localhost" for i in range(handshakes))),
                "minting": _timed(proc.pid, home, threads, lambda name: _handshake(port, name, verified),
                                  (f"s{i}.{NAME}.localhost" for i in range(MINTS))),
            }
        finally:
            procs.stop_all()


def in_memory() -> InMemory:
    """Run in the checkout's child process (PORTSIDE_HOME set): handshakes through memory BIOs, see the docstring."""
    from portside.model import Route, RouteKind
    from portside.router.routing import decide
    from portside.router.tls import sni
    from portside.router.tls.localca import ca_cert_path, ensure_ca

    ensure_ca()
    routes = {NAME: Route(NAME, 1, RouteKind.ALIAS, None, None, 0.0)}
    try:
        certificates = sni.Certificates(lambda hosts, target: decide(hosts, target, routes))
    except TypeError:  # before the routes were asked: Certificates()
        certificates = sni.Certificates()  # type: ignore[call-arg]
    server = certificates.context()
    assert server is not None and server.sni_callback is not None
    client = ssl.create_default_context(cafile=str(ca_cert_path()))
    pick, in_callback = server.sni_callback, [0.0]

    def timed_pick(*args: Any) -> int | None:
        began = time.perf_counter()
        try:
            return pick(*args)
        finally:
            in_callback[0] += time.perf_counter() - began

    server.sni_callback = timed_pick

    def handshake() -> None:
        client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _ in range(4))
        ends = [client.wrap_bio(client_in, client_out, server_hostname=f"{NAME}.localhost"),
                server.wrap_bio(server_in, server_out, server_side=True)]
        while ends:
            for end in list(ends):
                try:
                    end.do_handshake()
                    ends.remove(end)
                except ssl.SSLWantReadError:
                    pass
                server_in.write(client_out.read())
                client_in.write(server_out.read())

    for _ in range(WARMUP):
        handshake()
    best = InMemory(math.inf, math.inf)
    for _ in range(5):
        began, in_callback[0] = time.process_time(), 0.0
        for _ in range(IN_MEMORY):
            handshake()
        best = min(best, InMemory((time.process_time() - began) * 1000 / IN_MEMORY, in_callback[0] * 1e6 / IN_MEMORY))
    return best


def run_in_memory(src: Path | None) -> InMemory:
    with tempfile.TemporaryDirectory(prefix="portside-tls-bench-") as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTSIDE_") and k != "PYTHONPATH"}
        env["PORTSIDE_HOME"] = str(Path(scratch) / "home")
        if src is not None:
            env["PYTHONPATH"] = str(src)
        done = subprocess.run([sys.executable, __file__, "--in-memory"], env=env, cwd=scratch, check=True,
                              capture_output=True, text=True, timeout=TOOL_TIMEOUT * 4)
        return InMemory(*json.loads(done.stdout))


def report(revision: str, args: argparse.Namespace, runs: dict[str, list[dict[str, Measured]]],
           memory: dict[str, list[InMemory]]) -> list[str]:
    def med(checkout: str, kind: str, field: str) -> float:
        return float(statistics.median(getattr(run[kind], field) for run in runs[checkout]))

    def mem(checkout: str, field: str) -> float:
        return float(statistics.median(getattr(one, field) for one in memory[checkout]))

    rows = []
    for kind in KINDS:
        base, now = med("baseline", kind, "rate"), med("current", kind, "rate")
        rows.append([kind, f"{base:.0f}", f"{now:.0f}", f"{now / base:.2f}x",
                     f"{med('baseline', kind, 'cpu_ms'):.2f}", f"{med('current', kind, 'cpu_ms'):.2f}"])
    extra = [[checkout, f"{med(checkout, 'unknown', 'files'):.0f}", f"{med(checkout, 'unknown', 'rss_kb') / 1024:.1f}"]
             for checkout in ("baseline", "current")]
    head = short_head()
    return [
        "# TLS handshakes on the proxy: baseline and current checkout", "", "## Machine", "", *host(),
        f"- Python: {platform.python_version()}; {ssl.OPENSSL_VERSION}", "",
        "## Checkouts", "", f"- baseline: commit {revision}", f"- current: commit {head}", "", "## Command", "",
        "```sh", (f".venv/bin/python bench/tls_handshakes.py --baseline {revision} --runs {args.runs} "
                  f"--handshakes {args.handshakes} --threads {args.threads}"), "```", "",
        f"## Handshakes/s and proxy CPU per handshake (medians of {args.runs} runs, {args.threads} client threads)",
        "", *table(["kind", "baseline /s", "current /s", "current / baseline", "baseline CPU ms", "current CPU ms"],
                   rows), "",
        f"## {args.handshakes} handshakes with new names r{{i}}.localhost (medians)", "",
        *table(["checkout", "leaf files made", "proxy VmRSS growth MB"], extra), "",
        f"## Routed handshakes in memory (median over the runs of the best of 5 x {IN_MEMORY})", "",
        *table(["checkout", "client + server CPU ms per handshake", "SNI callback µs per handshake"],
               [[checkout, f"{mem(checkout, 'cpu_ms'):.3f}", f"{mem(checkout, 'callback_us'):.1f}"]
                for checkout in ("baseline", "current")]), "",
    ]


def short_head() -> str:
    return first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--handshakes", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--in-memory", action="store_true", help=argparse.SUPPRESS)  # the child of run_in_memory
    args = parser.parse_args()
    if args.in_memory:
        print(json.dumps(in_memory()))
        return
    runs: dict[str, list[dict[str, Measured]]] = {"baseline": [], "current": []}
    memory: dict[str, list[InMemory]] = {"baseline": [], "current": []}
    with tempfile.TemporaryDirectory(prefix="portside-tls-baseline-") as exported:
        checkouts: list[tuple[str, Path | None]] = [("baseline", export_src(Path(exported), args.baseline)),
                                                    ("current", None)]
        for run in range(args.runs):
            for checkout, src in checkouts if run % 2 == 0 else checkouts[::-1]:
                log(f"run {run + 1}/{args.runs}: {checkout}")
                runs[checkout].append(one_run(src, args.handshakes, args.threads))
                memory[checkout].append(run_in_memory(src))
    print("\n".join(report(args.baseline, args, runs, memory)))


if __name__ == "__main__":
    main()
