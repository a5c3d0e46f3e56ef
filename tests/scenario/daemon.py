"""A server that daemonises the classic way, for `portside run`'s tests: fork, setsid(), (fork again,) serve HTTP.

Usage: python daemon.py MODE PORT INFO_FILE, MODE one of
  exit    fork, setsid, fork again; the parent exits 0 once the server listens (as daemons do)
  stay    the same double fork, but the parent stays (sleeps until signalled)
  setsid  one fork and setsid; the parent stays
The server writes {"server": PID, "parent": PID, "port": PORT} to INFO_FILE once it listens.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello from the daemon\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(port: int, info_file: str, parent: int, ready: int) -> None:
    server = HTTPServer(("127.0.0.1", port), Hello)
    with open(info_file + ".tmp", "w") as file:
        json.dump({"server": os.getpid(), "parent": parent, "port": port}, file)
    os.rename(info_file + ".tmp", info_file)
    os.write(ready, b"listening\n")
    os.close(ready)
    server.serve_forever()


def main(mode: str, port: int, info_file: str) -> None:
    parent = os.getpid()
    readable, ready = os.pipe()
    if os.fork() == 0:
        os.close(readable)
        os.setsid()
        if mode == "setsid" or os.fork() == 0:
            serve(port, info_file, parent, ready)
        os._exit(0)
    os.close(ready)
    with os.fdopen(readable) as pipe:
        pipe.readline()
    if mode == "exit":
        sys.exit(0)
    signal.pause()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
