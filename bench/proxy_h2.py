"""HTTP/2 through portside's .localhost proxy against nginx's `listen ... ssl http2`, with h2load.

    .venv/bin/python bench/proxy_h2.py [--runs 5] [--duration 5] [--baseline REV] [--profile PY-SPY]

One backend for everything: the nginx of bench/proxy.py (worker_processes 1, `return 200 "hello\\n"`,
keep-alive without a request cap) on a free 127.0.0.1 port. In front of it, each on a free
127.0.0.1 port, speaking HTTP/2 over TLS 1.3 to the client and HTTP/1.1 to the backend:
  portside       `python -m portside proxy serve --port P` from this tree (PORTSIDE_HOME in a temp
                 dir, its local CA made first), the route added with `portside alias bench BACKEND`
  portside@REV   the same from REV's src/ (`git archive`, first on PYTHONPATH), with --baseline
  nginx          a second nginx (worker_processes 1), bench/proxy.py's proxy_pass server (upstream
                 `keepalive` as large as portside's pool, HTTP/1.1, X-Forwarded-*) on `listen ... ssl http2` with a
                 self-signed P-256 certificate (openssl), TLS 1.3 only
The client is h2load (Debian's nghttp2-client): one thread, 16 connections x 10 concurrent streams,
GET https://bench.localhost:P/ dialled at 127.0.0.1 (--connect-to), so SNI and :authority name the
route. Each run: --duration s after a 1 s warm-up, the targets interleaved (order rotated each run)
after a 2 s untimed run per target that must answer every request 200 with the 6-byte body.

Reported: median requests/s, min-max, mean time per request, the ratio to nginx's requests/s,
the CPU (% of one core) of the proxy's process, of the backend nginx, of h2load and of everything
else on the machine, and the backend connections the proxy opened per 1,000 requests (nginx
stub_status). A run during which the rest of the machine took over 15% of a core is discarded and
repeated (up to 3 times), as in bench/proxy.py. Every timed run must have no failed, errored or
non-2xx request; results are printed either way, then the bench exits 1 naming what failed.

--profile PATH-TO-PY-SPY: one extra, untimed run against portside under `py-spy record --nonblocking`,
and the functions with most samples printed (as bench/proxy.py does).

Only 127.0.0.1 is dialled, never port 2024; every process the bench starts runs in a session of its
own and is stopped by its pid (then its process group) in a finally; temp dirs are removed. Every
subprocess has a timeout. Needs /usr/sbin/nginx with http_v2, /usr/bin/h2load, openssl, psutil.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from proxy import (
    BACKEND_BODY,
    BODY,
    NAME,
    NGINX,
    PROXY_BODY,
    ROOT,
    TOOL_TIMEOUT,
    Processes,
    Target,
    backend_accepts,
    busy_seconds,
    cpu_seconds,
    export_src,
    free_port,
    get,
    med,
    portside_version,
    routed,
    start_nginx,
    throughput,
    version,
    wait_until,
)
from proxy import interleaved as proxy_interleaved
from proxy import profile as profile_wrk

from portside.router.gateway import IDLE_PER_PORT

H2LOAD = "/usr/bin/h2load"
CLIENTS = 16
STREAMS = 10
WARMUP_SECONDS = 1
CHECK_SECONDS = 2
TLS = """listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {prefix}/cert.pem;
        ssl_certificate_key {prefix}/key.pem;
        ssl_protocols TLSv1.3;"""
# nginx keeps as many idle backend connections as portside's pool does
H2_PROXY_BODY = PROXY_BODY.replace("listen 127.0.0.1:{port};", TLS).replace("keepalive 64;", f"keepalive {IDLE_PER_PORT};")


class Result(NamedTuple):
    requests: int
    rps: float
    mean_ms: float
    failed: int  # failed, errored or timed out, and responses that are not 2xx
    proxy_cpu: float  # % of one core
    backend_cpu: float
    client_cpu: float
    upstream_conns: int
    other_cpu: float


def h2load(port: int, seconds: float, warm_up: float = 0) -> tuple[dict[str, float], float]:
    """One h2load run: its numbers, and its own CPU seconds."""
    command = [H2LOAD, "-t", "1", "-c", str(CLIENTS), "-m", str(STREAMS), "-D", f"{seconds:g}",
               "--connect-to", f"127.0.0.1:{port}", f"https://{NAME}.localhost:{port}/"]
    if warm_up:
        command[1:1] = ["--warm-up-time", f"{warm_up:g}"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + warm_up + TOOL_TIMEOUT,
                          check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = done.stdout
    numbers = {
        "rps": re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out),
        "done": re.search(r"requests: \d+ total, \d+ started, (\d+) done", out),
        "failed": re.search(r"(\d+) failed, (\d+) errored, (\d+) timeout", out),
        "non2xx": re.search(r"status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out),
        "data": re.search(r"space savings [\d.]+%\), \S+ \((\d+)\) data", out),
        "mean": re.search(r"time for request: +\S+ +\S+ +([\d.]+)(us|ms|s) ", out),
    }
    if not all(numbers.values()):
        raise RuntimeError(f"h2load against port {port} gave no result (exit {done.returncode}):\n{out}\n"
                           f"{done.stderr}")
    found = {key: match for key, match in numbers.items() if match is not None}
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[found["mean"].group(2)]
    return ({"rps": float(found["rps"].group(1)), "done": int(found["done"].group(1)),
             "failed": sum(int(n) for n in found["failed"].groups()),
             "non2xx": sum(int(n) for n in found["non2xx"].groups()), "data": int(found["data"].group(1)),
             "mean_ms": float(found["mean"].group(1)) * scale},
            (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


def measure(target: Target, seconds: float, backend: Target) -> Result:
    accepts = backend_accepts(backend.port)
    cpu, backend_cpu, busy = cpu_seconds(target.pids), cpu_seconds(backend.pids), busy_seconds()
    began = time.monotonic()
    out, client_cpu = h2load(target.port, seconds, WARMUP_SECONDS)
    wall = time.monotonic() - began
    cpu, backend_cpu = cpu_seconds(target.pids) - cpu, cpu_seconds(backend.pids) - backend_cpu
    other = busy_seconds() - busy - cpu - backend_cpu - client_cpu
    return Result(requests=int(out["done"]), rps=out["rps"], mean_ms=out["mean_ms"],
                  failed=int(out["failed"] + out["non2xx"]),
                  proxy_cpu=100 * cpu / wall, backend_cpu=100 * backend_cpu / wall,
                  client_cpu=100 * client_cpu / wall, upstream_conns=backend_accepts(backend.port) - accepts - 1,
                  other_cpu=100 * other / wall)


def start_portside(procs: Processes, tmp: Path, backend: int, label: str, src: Path | None) -> Target:
    """The proxy from `src` (None: the installed tree), its CA made, the bench route added."""
    port, home = free_port(), tmp / f"home-{label}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTSIDE_") and k != "PYTHONPATH"}
    env.update(PORTSIDE_HOME=str(home), PORTSIDE_PROXY_PORT=str(port))
    if src is not None:
        env["PYTHONPATH"] = str(src)

    def portside(*args: str) -> None:
        done = subprocess.run([sys.executable, *args], env=env, cwd=tmp, capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{label}: {args} failed ({done.returncode}): {done.stdout}{done.stderr}")

    portside("-c", "from portside.router.tls.localca import ensure_ca; ensure_ca()")
    log = tmp / f"{label}.log"
    proc = procs.start([sys.executable, "-m", "portside", "proxy", "serve", "--port", str(port)], env=env, log=log,
                       cwd=tmp)
    wait_until(f"{label} proxy record", lambda: (home / "proxy.json").exists(), proc, log)
    portside("-m", "portside", "alias", NAME, str(backend))
    wait_until(f"{label} route", lambda: routed(port), proc, log)
    return Target(label, port, (proc.pid,))


def start_nginx_h2(procs: Processes, tmp: Path, backend: int) -> Target:
    port, prefix = free_port(), tmp / "nginx-proxy"
    keys = tmp / "keys"
    keys.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", f"/CN={NAME}.localhost", "-addext",
                    f"subjectAltName=DNS:{NAME}.localhost", "-keyout", str(keys / "key.pem"),
                    "-out", str(keys / "cert.pem")], check=True, capture_output=True, timeout=TOOL_TIMEOUT)
    proc = start_nginx(procs, prefix, port, H2_PROXY_BODY.format(port=port, backend=backend, name=NAME,
                                                                 prefix=keys))
    wait_until("nginx h2 proxy", lambda: bool(socket.create_connection(("127.0.0.1", port), timeout=1).close() or 1),
               proc, prefix / "error.log")
    return Target("nginx", port, (proc.pid,))


def interleaved(targets: list[Target], runs: int, seconds: float, backend: Target
                ) -> tuple[dict[str, list[Result]], collections.Counter[str]]:
    return proxy_interleaved(targets, runs, lambda target: measure(target, seconds, backend),
                             lambda result: f"mean {result.mean_ms:7.3f} ms  failed {result.failed}")


def report(targets: list[Target], results: dict[str, list[Result]], discarded: collections.Counter[str],
           args: argparse.Namespace, code: str) -> None:
    nginx = med(results["nginx"], "rps")
    print(f"## HTTP/2 over TLS: h2load -t 1 -c {CLIENTS} -m {STREAMS}, {args.duration:g} s x {args.runs} runs "
          "interleaved, medians\n")
    print("| target | req/s (median) | min–max req/s | mean ms | vs nginx | proxy CPU % | backend CPU % "
          "| h2load CPU % | other CPU % (max) | backend conns / 1k req | failed |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for target in targets:
        rows = results[target.name]
        rps, spread, per_k = throughput(rows)
        print(f"| {target.name} | {rps:,.0f} | {spread} "
              f"| {med(rows, 'mean_ms'):.2f} | {rps / nginx:.2f}x | {med(rows, 'proxy_cpu'):.0f} "
              f"| {med(rows, 'backend_cpu'):.0f} | {med(rows, 'client_cpu'):.0f} | {med(rows, 'other_cpu'):.0f} "
              f"({max(r.other_cpu for r in rows):.0f}) | {per_k:.1f} | {sum(r.failed for r in rows)} |")
    if discarded:
        print("\nRuns discarded and repeated (the machine was busy with something else): "
              + ", ".join(f"{name} {count}" for name, count in discarded.items()))
    py = f"Python {platform.python_version()}"
    print(f"\nmachine: {os.cpu_count()} cores, kernel {os.uname().release}; {py}; {version([NGINX, '-v'])}; "
          f"{version([H2LOAD, '--version'])}")
    print(f"portside: {code} (when its proxy started)"
          + (f"; portside@{args.baseline} is {version(['git', '-C', str(ROOT), 'rev-parse', '--short', args.baseline])}"
             if args.baseline else ""))


def profile(py_spy: str, target: Target, seconds: float, tmp: Path) -> list[str]:
    """bench/proxy.py's py-spy summary, with h2load as the load."""
    import proxy

    def load(target: Target, seconds: float, script: Path, args: tuple[str, ...] = ()) -> tuple[dict[str, float], float]:
        out, cpu = h2load(target.port, seconds)
        return {"requests": out["done"], "duration_us": seconds * 1e6}, cpu

    proxy.wrk = load  # type: ignore[assignment]
    return profile_wrk(py_spy, target, seconds, tmp / "unused.lua", tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per target (default 5)")
    parser.add_argument("--duration", type=float, default=5, help="seconds per run (default 5)")
    parser.add_argument("--baseline", metavar="REV", help="also run the proxy of this commit (e.g. main)")
    parser.add_argument("--profile", metavar="PY_SPY", help="py-spy binary: profile portside in one extra run")
    args = parser.parse_args()
    for tool in (NGINX, H2LOAD):
        if not os.access(tool, os.X_OK):
            sys.exit(f"bench/proxy_h2.py needs {tool}")
    signal.signal(signal.SIGTERM, _terminate)
    code = portside_version()
    procs = Processes()
    tmp = Path(tempfile.mkdtemp(prefix="portside-bench-h2-"))
    failures: list[str] = []
    try:
        backend_port = free_port()
        backend = start_nginx(procs, tmp / "nginx-backend", backend_port, BACKEND_BODY.format(port=backend_port))
        wait_until("backend nginx", lambda: get(backend_port) == (200, BODY), backend)
        backend_target = Target("backend", backend_port, (backend.pid,))
        targets = [start_portside(procs, tmp, backend_port, "portside", None)]
        if args.baseline:
            label = f"portside@{args.baseline}"
            targets.append(start_portside(procs, tmp, backend_port, label, export_src(tmp, args.baseline)))
        targets.append(start_nginx_h2(procs, tmp, backend_port))
        print("status check (every request 200 with body hello\\n)", file=sys.stderr, flush=True)
        for target in targets:
            out, _ = h2load(target.port, CHECK_SECONDS)
            print(f"  {target.name:14} done {out['done']:.0f}  failed or not 2xx {out['failed'] + out['non2xx']:.0f}"
                  f"  body bytes {out['data']:.0f}", file=sys.stderr, flush=True)
            if out["failed"] or out["non2xx"] or not out["done"] or out["data"] != len(BODY) * out["done"]:
                failures.append(f"{target.name}: status check: {out}")
        results, discarded = interleaved(targets, args.runs, args.duration, backend_target)
        profile_lines = profile(args.profile, targets[0], args.duration, tmp) if args.profile else []
        for name, rows in results.items():
            if sum(r.failed for r in rows):
                failures.append(f"{name}: {sum(r.failed for r in rows)} failed or non-2xx requests")
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    report(targets, results, discarded, args, code)
    if profile_lines:
        print("\n## portside under py-spy (one extra run, not in the table)\n")
        print("\n".join(profile_lines))
    if failures:
        print("\nFAILED:\n" + "\n".join(f"- {line}" for line in failures))
        sys.exit(1)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # so the finally in main still stops what the bench started


if __name__ == "__main__":
    main()
