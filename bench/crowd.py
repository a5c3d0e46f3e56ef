"""Hold N TCP listeners on 127.0.0.1 spread over P processes, optionally each forked once.

Used by the benchmarks to build a busy machine: `python bench/crowd.py 10000 50 --fork`
prints "ready" once every socket listens, then holds them until stdin closes; on any
exit (stdin closed, a holder failing, an interrupt) it ends its whole process group.
`--connections N` adds N idle loopback connections, each process dialling its own
listeners in turn and holding both ends.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys


def hold(count: int, fork: bool, ready_fd: int, connections: int = 0) -> None:
    """Open `count` listeners (and `connections` to them), fork once if asked, report readiness, then sleep."""
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sockets.append(sock)
    ends = []
    for number in range(connections if sockets else 0):
        listener = sockets[number % len(sockets)]
        ends.append(socket.create_connection(listener.getsockname()))
        ends.append(listener.accept()[0])
    if fork and os.fork() == 0:
        signal.pause()
        os._exit(0)
    os.write(ready_fd, b".")
    signal.pause()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("listeners", type=int)
    parser.add_argument("processes", type=int)
    parser.add_argument("--fork", action="store_true", help="each process forks a child sharing its sockets")
    parser.add_argument("--connections", type=int, default=0, help="idle loopback connections to the listeners")
    args = parser.parse_args()
    os.setpgrp()
    read_fd, write_fd = os.pipe()
    per = [args.listeners // args.processes + (1 if i < args.listeners % args.processes else 0) for i in range(args.processes)]
    dials = [args.connections // args.processes + (1 if i < args.connections % args.processes else 0)
             for i in range(args.processes)]
    for count, connections in zip(per, dials):
        if os.fork() == 0:
            os.close(read_fd)
            hold(count, args.fork, write_fd, connections)
            os._exit(0)
    os.close(write_fd)
    try:
        got = 0
        while got < args.processes:
            chunk = os.read(read_fd, 64)
            if not chunk:
                sys.exit("a holder died before it was ready")
            got += len(chunk)
        print("ready", flush=True)
        sys.stdin.read()
    finally:
        os.killpg(0, signal.SIGTERM)  # every holder and forked child, then this process


if __name__ == "__main__":
    main()
