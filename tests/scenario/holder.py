"""A process that holds the sockets a test asks for, reports them as JSON, then waits.

Usage: python holder.py SPEC [SPEC...] [--fork] [--ignore-term]
SPEC is PROTO:ADDRESS:PORT[:v6only|:dual][:reuseport], e.g. tcp:127.0.0.1:0, tcp:[::]:0:v6only,
tcp:[fe80::5%v0]:0:v6only.
It prints one JSON line {"pid", "child", "ports"} once everything is bound, then sleeps
until signalled (or forever, with --ignore-term, until SIGKILL).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys


def open_socket(spec: str) -> socket.socket:
    proto, rest = spec.split(":", 1)
    flags = []
    while rest.rsplit(":", 1)[-1] in ("v6only", "dual", "reuseport"):
        rest, flag = rest.rsplit(":", 1)
        flags.append(flag)
    address, port = rest.rsplit(":", 1)
    address = address.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if "reuseport" in flags:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if "v6only" in flags else 0)
    host, _, zone = address.partition("%")  # a scoped address binds with its scope id: [fe80::5%v0]
    sock.bind((host, int(port), 0, socket.if_nametoindex(zone)) if zone else (address, int(port)))
    if kind == socket.SOCK_STREAM:
        sock.listen(16)
    return sock


def main(argv: list[str]) -> None:
    fork = "--fork" in argv
    if "--ignore-term" in argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    specs = [a for a in argv if not a.startswith("--")]
    sockets = [open_socket(spec) for spec in specs]
    child = 0
    if fork:
        child = os.fork()
        if child == 0:
            while True:
                signal.pause()
    print(json.dumps({"pid": os.getpid(), "child": child, "ports": [s.getsockname()[1] for s in sockets]}), flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main(sys.argv[1:])
