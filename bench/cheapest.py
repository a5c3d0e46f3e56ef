"""Issue 17's start-up rows: each verb's cheapest call beside the anchors, in one hyperfine run per output.

What a user feels is the whole command, interpreter included. With 30 listeners of a
crowd this script starts (a child on 127.0.0.1, one of them an HTTP server), it times:
  - `portside ls` with stdout a terminal (a pty of the script's own, 80x24, so the table
    is drawn in colour) and again with stdout a pipe, beside `ss -ltnp`, lsof, psutil's
    net_connections and `python -c pass` (the interpreter's floor, the same venv);
  - `portside ls --json`, `--help`, `--version`, and the cheapest call of who, kill
    (--dry-run), pick, leases, routes, proxy status and wait (`localhost:PORT`, which
    answers), in a state directory of the run's own;
  - `portside doctor http://127.0.0.1:PORT/` beside `curl` of the same URL.
The goals are issue 17's: ls (terminal and piped) at most `python -c pass` + 2x `ss -ltnp`;
every other cheapest call, --help and --version at most `python -c pass` + 25 ms; doctor at
most `python -c pass` + 60 ms. Medians of --runs runs (hyperfine -N, 3 warm-ups); the
`.pyc` files are compiled first, as an installed package has them.

    python3 bench/cheapest.py [--runs N]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import shlex
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
from pathlib import Path

from inventory import (
    COMMAND_TIMEOUT,
    HYPERFINE,
    PSUTIL_CODE,
    PYTHON,
    WARMUP,
    compiled,
    hyperfine_times,
    log,
    machine,
    table,
)

BENCH = Path(__file__).resolve().parent
PORTSIDE = str(BENCH.parent / ".venv" / "bin" / "portside")
LISTENERS = 30
CROWD = f"""
import http.server, socket, sys, threading
held = [socket.create_server(("127.0.0.1", 0)) for _ in range({LISTENERS - 1})]
class Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
sys.stdin.read()
"""
PYTHON_PASS = "python -c pass"
SS = "ss -ltnp"
ANCHORS = {PYTHON_PASS: [PYTHON, "-c", "pass"], SS: ["ss", "-ltnp"],
           "lsof -iTCP -sTCP:LISTEN -nP": ["lsof", "-iTCP", "-sTCP:LISTEN", "-nP"],
           "psutil.net_connections": [PYTHON, "-c", PSUTIL_CODE]}
LS = "portside ls"
CHEAP = ("portside ls --json", "portside --help", "portside --version", "portside who PORT",
         "portside kill PORT --dry-run", "portside pick", "portside leases", "portside routes",
         "portside proxy status", "portside wait localhost:PORT")
DOCTOR = "portside doctor http://127.0.0.1:PORT/"
CURL = "curl -s -o /dev/null http://127.0.0.1:PORT/"


def _argv(label: str, port: int) -> list[str]:
    words = shlex.split(label.replace("PORT", str(port)))
    return [PORTSIDE, *words[1:]] if words[0] == "portside" else words


def on_terminal(commands: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """As hyperfine_times, but the commands' stdout is a terminal: hyperfine runs on a pty (80x24) drained here."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def drain() -> None:
        while True:
            try:
                if not os.read(leader, 65536):
                    return
            except OSError:
                return

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "hyperfine.json"
        argv = [HYPERFINE, "-N", "--warmup", str(WARMUP), "--runs", str(runs), "--export-json", str(export),
                "--output", "inherit", "--style", "none"]
        for label, command in commands.items():
            argv += ["--command-name", label, shlex.join(command)]
        env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "COLUMNS")}
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=follower, stderr=sys.stderr,
                       timeout=COMMAND_TIMEOUT, env={**env, "TERM": "xterm-256color"})
        results = json.loads(export.read_text())["results"]
    os.close(follower)
    os.close(leader)
    return {item["command"]: [seconds * 1000 for seconds in item["times"]] for item in results}


def _median(times: dict[str, list[float]], label: str) -> float:
    return statistics.median(times[label])


def _rows(times: dict[str, list[float]], labels: list[str], budget: dict[str, float]) -> list[list[str]]:
    python = _median(times, PYTHON_PASS)
    rows = []
    for label in labels:
        median = _median(times, label)
        goal = budget.get(label)
        verdict = "" if goal is None else ("met" if median <= goal else "**NOT met**") + f" (<= {goal:.1f})"
        rows.append([f"`{label}`", f"{median:.1f}", f"+{median - python:.1f}", verdict])
    return rows


def report(terminal: dict[str, list[float]], piped: dict[str, list[float]], runs: int, command: str) -> str:
    """The Markdown section: both runs' tables, each with its own anchors and goals."""
    headers = ["command", "median ms", "beyond `python -c pass`", "goal"]
    out = ["## Issue 17: start-up, each verb's cheapest call (bench/cheapest.py)", "", *machine(),
           f"- {LISTENERS} listeners on 127.0.0.1 in one process, beside the machine's own", "",
           "```sh", command, "```", "", f"hyperfine -N, {WARMUP} warm-ups, {runs} runs, medians; .pyc compiled.", ""]
    for title, times, subjects in (("stdout a terminal (pty, 80x24, colour)", terminal, [LS]),
                                   ("stdout a pipe", piped, [LS, *CHEAP, DOCTOR, CURL])):
        python, ss = _median(times, PYTHON_PASS), _median(times, SS)
        budget = {label: python + 25 for label in subjects}
        budget[LS] = python + 2 * ss
        budget[DOCTOR] = python + 60
        budget.pop(CURL, None)
        out += [f"### {title}", "", *table(headers, _rows(times, [*ANCHORS, *subjects], budget)), ""]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    compiled()
    crowd = subprocess.Popen([PYTHON, "-c", CROWD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert crowd.stdout is not None
        port = int(crowd.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="portside-cheapest-") as home:
            os.environ["PORTSIDE_HOME"] = home
            log(f"== {LISTENERS} listeners, HTTP on 127.0.0.1:{port}; on a terminal")
            terminal = on_terminal({**ANCHORS, LS: _argv(LS, port)}, args.runs)
            log("== piped")
            piped = hyperfine_times({**ANCHORS, **{label: _argv(label, port) for label in (LS, *CHEAP, DOCTOR, CURL)}},
                                    args.runs)
    finally:
        assert crowd.stdin is not None
        crowd.stdin.close()
        crowd.wait(10)
    print(report(terminal, piped, args.runs, shlex.join(["python3", "bench/cheapest.py", *sys.argv[1:]])))


if __name__ == "__main__":
    main()
