"""A small accepting server for doctor's scenarios: HTTP with a chosen status, silence, or a banner.

Usage: python webapp.py ADDRESS [ADDRESS...] [--port N] [--status N | --silent | --say TEXT]
Every ADDRESS is bound on one port (the first picks it when --port is 0 or absent; an IPv6
"::" is v6-only; a scoped one, fe80::5%v0, binds on its interface). Prints {"pid", "port"} as one JSON line once listening, then serves until
signalled: --status answers every GET with that status, --silent accepts and reads but
never writes, --say sends TEXT and closes.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading


def listen(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:  # v6-only, but an IPv4-mapped address (::ffff:127.0.0.2) cannot be
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if address.lower().startswith("::ffff:") else 1)
    host, _, zone = address.partition("%")  # a scoped address binds with its scope id: fe80::5%v0
    sock.bind((host, port, 0, socket.if_nametoindex(zone)) if zone else (address, port))
    sock.listen(64)
    return sock


def serve(conn: socket.socket, mode: str, value: str) -> None:
    with conn:
        if mode == "--say":
            conn.sendall(value.encode() + b"\r\n")
            return
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        if mode == "--silent":
            conn.recv(4096)
            return
        body = f"status {value}\n".encode()
        conn.sendall(f"HTTP/1.1 {value} Test\r\nServer: webapp\r\nContent-Length: {len(body)}\r\n"
                     "Connection: close\r\n\r\n".encode() + body)


def accept_forever(sock: socket.socket, mode: str, value: str) -> None:
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve, args=(conn, mode, value), daemon=True).start()


def main(argv: list[str]) -> None:
    port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 0
    mode, value = "--status", "200"
    for flag in ("--status", "--silent", "--say"):
        if flag in argv:
            mode = flag
            value = argv[argv.index(flag) + 1] if flag != "--silent" else ""
    skip = {argv.index(f) + 1 for f in ("--port", "--status", "--say") if f in argv}
    addresses = [a.strip("[]") for i, a in enumerate(argv) if not a.startswith("--") and i not in skip]
    sockets = []
    for address in addresses:
        sockets.append(listen(address, port))
        port = sockets[-1].getsockname()[1]
    for sock in sockets:
        threading.Thread(target=accept_forever, args=(sock, mode, value), daemon=True).start()
    print(json.dumps({"pid": os.getpid(), "port": port}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
