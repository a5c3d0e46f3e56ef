"""`portside audit` of 1,000 listeners under a 500-rule nftables ruleset, beside `nmap -sT` of the same ports.

    python3 bench/audit.py [--runs 3] [--listeners 1000] [--rules 500]

A "host" network namespace (198.51.100.7 on a veth) and a "lan" namespace (198.51.100.8)
are made here and removed at the end. In the host: one holder process with N listeners
on 0.0.0.0 and R nftables rules: a netdev ingress chain on the veth (a few drops), and an
input chain (policy drop) of drops, rejects and accepts over the held ports, every tenth
of them for some senders only (`ip saddr 10.K.0.0/16`, so sender classes are followed),
every seventh scoped to the interface. Timed: the whole `python -m portside audit --json` process
in the host namespace (interpreter start-up included), and `nmap -sT -Pn -n -T5` of the
same ports from the lan namespace (the anchor a user would pick; it only sees what a
connect sees). Then portside's prediction for the lan's own sender class (198.51.100.8)
is checked against nmap's states (accept = open). Prints Markdown with the ratio. Needs root, iproute2, nft, nmap.
Traffic stays between the two namespaces.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOLDER = ROOT / "tests" / "scenario" / "holder.py"
HOST, LAN = "198.51.100.7", "198.51.100.8"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True)


def ruleset(ports: list[int], rules: int) -> str:
    ingress = [f"  tcp dport {port} drop" for port in ports[-3:]]
    lines = ["table netdev benchedge {", " chain edge {",
             '  type filter hook ingress device "v0" priority 0; policy accept;', *ingress, " }", "}",
             "table inet benchaudit {", " chain input {", "  type filter hook input priority 0; policy drop;",
             '  iif "lo" accept', "  ct state established,related accept"]
    for index in range(rules - 2 - len(ingress)):
        port = ports[index % len(ports)]
        verdict = ("accept", "drop", "reject with tcp reset")[index % 3]
        if index % 10 == 0:
            lines.append(f"  ip saddr 10.{index % 250}.0.0/16 tcp dport {port} {verdict}")
        elif index % 7 == 0:
            lines.append(f'  iifname "v0" tcp dport {port} {verdict}')
        else:
            lines.append(f"  tcp dport {port} {verdict}")
    return "\n".join([*lines, " }", "}", ""])


def lan_gets(entry: dict[str, Any]) -> str:
    """The fate portside predicts for a connection from the lan namespace (its sender class, or every sender)."""
    lan = ipaddress.ip_address(LAN)
    for path in entry["paths"]:
        label = path["source"]
        if label is None:
            return str(path["fate"])
        head, _, rest = label.partition(" except ")
        inside = head == "any other source" or lan in ipaddress.ip_network(head)
        if inside and not any(lan in ipaddress.ip_network(x) for x in rest.split(", ") if rest):
            return str(path["fate"])
    return "local" if entry["verdict"] == "local" else "unknown"


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "?")
    return f"{os.cpu_count()} CPUs ({model})"


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
        agree = sum((lan_gets(e) == "accept") == (states.get(e["listener"]["port"]) == "open") for e in listeners)
        audit_median, nmap_median = statistics.median(audit_times), statistics.median(nmap_times)
        print(f"# audit: {args.listeners} listeners, {args.rules}-rule ruleset\n")
        print(f"machine: {machine()}, shared with other sessions' test runs (loaded)\n")
        print("| tool | median wall time (s) | runs (s) |\n| --- | --- | --- |")
        print(f"| portside audit --json (whole process) | {audit_median:.2f} | "
              f"{', '.join(f'{t:.2f}' for t in audit_times)} |")
        print(f"| nmap -sT -T5 from the lan namespace | {nmap_median:.2f} | "
              f"{', '.join(f'{t:.2f}' for t in nmap_times)} |")
        print(f"\nportside / nmap: {audit_median / nmap_median:.2f}")
        counts: dict[str, int] = {}
        for entry in listeners:
            counts[entry["verdict"]] = counts.get(entry["verdict"], 0) + 1
        sourced = sum(any(path["source"] for path in entry["paths"]) for entry in listeners)
        print(f"\nverdicts: {counts} ({sourced} split by sender class); nmap states: "
              f"{ {s: list(states.values()).count(s) for s in set(states.values())} }; "
              f"agreement (portside's fate for the lan's sender = accept <=> nmap open): {agree}/{len(listeners)}")
    finally:
        if holder is not None:
            os.killpg(holder.pid, 9)
            holder.wait(10)
        for name in (host, lan):
            subprocess.run(["ip", "netns", "del", name], check=False)


if __name__ == "__main__":
    main()
