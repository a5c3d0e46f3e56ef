"""A process that leases ports through the library and keeps them until its stdin closes.

Usage: python picker.py [--count N] [--name NAME]... [--bind] [--churn]
Prints one JSON line {"pid", "ports"} once leased (binding each on 127.0.0.1 with --bind),
then waits for EOF on stdin. With --churn it picks and releases in a loop until killed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys

from portside.errors import LeaseHeld
from portside.leasing.allocate import pick, release


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--name", action="append", default=[])
    parser.add_argument("--bind", action="store_true")
    parser.add_argument("--churn", action="store_true")
    args = parser.parse_args()
    if args.churn:
        turn = 0
        while True:
            turn += 1
            try:
                leases = pick(names=[f"churn{turn % 3}"]) if turn % 2 else pick(2)
            except LeaseHeld:
                continue
            for lease in leases:
                release(lease.port)
    leases = pick(len(args.name) or args.count, names=args.name)
    held = []
    for lease in leases if args.bind else ():
        sock = socket.socket()
        sock.bind(("127.0.0.1", lease.port))
        held.append(sock)
    print(json.dumps({"pid": os.getpid(), "ports": [lease.port for lease in leases]}), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
