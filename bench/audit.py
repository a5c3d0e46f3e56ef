"""`portside audit` of 1,000 listeners under a 500-rule nftables ruleset, beside `nmap -sT` of the same ports.

    python3 bench/audit.py [--runs 3] [--listeners 1000] [--rules 500]

A "host" network namespace (198.51.100.7 on a veth) and a "lan" namespace (198.51.100.8)
are made here and removed at the end. In the host: one holder process with N listeners
on 0.0.0.0 and an nftables input chain (policy drop) of R rules: drops, rejects and
accepts over the held ports. Timed: the whole `python -m portside audit --json` process
in the host namespace (interpreter start-up included), and `nmap -sT -Pn -n -T5` of the
same ports from the lan namespace (the anchor a user would pick; it only sees what a
connect sees). Then portside's verdicts are checked against nmap's states (reachable =
open; filtered = filtered or closed). Prints Markdown. Needs root, iproute2, nft, nmap.
Traffic stays between the two namespaces.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOLDER = ROOT / "tests" / "scenario" / "holder.py"
HOST, LAN = "198.51.100.7", "198.51.100.8"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True)


def ruleset(ports: list[int], rules: int) -> str:
    lines = ["table inet benchaudit {", " chain input {", "  type filter hook input priority 0; policy drop;",
             '  iif "lo" accept', "  ct state established,related accept"]
    for index in range(rules - 2):
        port = ports[index % len(ports)]
        verdict = ("accept", "drop", "reject with tcp reset")[index % 3]
        lines.append(f'  iifname "v0" tcp dport {port} {verdict}' if index % 7 == 0 else f"  tcp dport {port} {verdict}")
    return "\n".join([*lines, " }", "}", ""])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=500)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:6]
    host, lan = f"psb-{tag}", f"psb-{tag}-lan"
    holder = None
    for name in (host, lan):
        ip("netns", "add", name)
    try:
        ip("link", "add", "v0", "netns", host, "type", "veth", "peer", "name", "v1", "netns", lan)
        for name, device, address in ((host, "v0", HOST), (lan, "v1", LAN)):
            for command in (["link", "set", "lo", "up"], ["addr", "add", f"{address}/24", "dev", device],
                            ["link", "set", device, "up"]):
                ip("-n", name, *command)
        holder = subprocess.Popen(["ip", "netns", "exec", host, "sh", "-c", f"ulimit -n 4096; exec {sys.executable} "
                                   f"{HOLDER} " + " ".join(["tcp:0.0.0.0:0"] * args.listeners)],
                                  stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert holder.stdout is not None
        ports = json.loads(holder.stdout.readline())["ports"]
        subprocess.run(["ip", "netns", "exec", host, "nft", "-f", "-"], input=ruleset(ports, args.rules), text=True,
                       check=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        audit_times, nmap_times = [], []
        report: dict[str, object] = {}
        nmap_out = ""
        for _ in range(args.runs):
            began = time.monotonic()
            done = subprocess.run(["ip", "netns", "exec", host, sys.executable, "-m", "portside", "audit", "--json"],
                                  capture_output=True, text=True, env=env, check=False)
            audit_times.append(time.monotonic() - began)
            report = json.loads(done.stdout)
            began = time.monotonic()
            nmap_out = subprocess.run(["ip", "netns", "exec", lan, "nmap", "-sT", "-Pn", "-n", "-T5", "-p",
                                       ",".join(map(str, ports)), HOST, "-oG", "-"], capture_output=True, text=True,
                                      check=True).stdout
            nmap_times.append(time.monotonic() - began)
        states = {}
        for line in nmap_out.splitlines():
            if "Ports:" in line:
                for item in line.split("Ports:", 1)[1].split("\t")[0].split(","):
                    fields = item.strip().split("/")
                    states[int(fields[0])] = fields[1]
        listeners = [e for e in report["listeners"] if e["listener"]["port"] in set(ports)]  # type: ignore[index]
        agree = sum((e["verdict"] == "reachable") == (states.get(e["listener"]["port"]) == "open") for e in listeners)
        print(f"# audit: {args.listeners} listeners, {args.rules}-rule ruleset\n")
        print("| tool | median wall time (s) | runs |\n| --- | --- | --- |")
        print(f"| portside audit --json (whole process) | {statistics.median(audit_times):.2f} | {args.runs} |")
        print(f"| nmap -sT -T5 from the lan namespace | {statistics.median(nmap_times):.2f} | {args.runs} |")
        counts: dict[str, int] = {}
        for entry in listeners:
            counts[entry["verdict"]] = counts.get(entry["verdict"], 0) + 1
        print(f"\nverdicts: {counts}; nmap states: "
              f"{ {s: list(states.values()).count(s) for s in set(states.values())} }; "
              f"agreement (reachable = open): {agree}/{len(listeners)}")
    finally:
        if holder is not None:
            os.killpg(holder.pid, 9)
            holder.wait(10)
        for name in (host, lan):
            subprocess.run(["ip", "netns", "del", name], check=False)


if __name__ == "__main__":
    main()
