"""One HTTP request to a container engine over its unix socket, in bounded time.

HTTP/1.0 with no keep-alive: the engine sends the whole reply and closes, so reading
until EOF frames it. Every step (connect, send, each read) is limited by what is left
of a deadline through the socket's timeout, so an engine that hangs costs at most that
budget; one that answers garbage raises EngineError with what was wrong. Either way the
caller turns it into a note.
"""

from __future__ import annotations

import socket
import time

from portside.containers.engineapi import split_reply
from portside.errors import EngineError
from portside.probing.http import ResponseHead

MAX_REPLY = 8 << 20


def request(path: str, target: str, deadline: float, method: str = "GET") -> tuple[ResponseHead, bytes]:
    """`method target` on the engine socket at `path`: the reply's head and body, before `deadline` (monotonic)."""
    started = time.monotonic()
    data = bytearray()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.settimeout(max(deadline - time.monotonic(), 0.001))
            conn.connect(path)
            body = "Content-Length: 0\r\n" if method != "GET" else ""
            conn.sendall(f"{method} {target} HTTP/1.0\r\nHost: engine\r\nUser-Agent: portside\r\n{body}\r\n".encode())
            while len(data) <= MAX_REPLY:
                conn.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            else:
                raise EngineError(f"{path} sent more than {MAX_REPLY >> 20} MiB for {target}")
        except TimeoutError as error:
            waited = time.monotonic() - started
            raise EngineError(f"{path} did not answer {method} {target} within {waited:.1f} s") from error
        except OSError as error:
            raise EngineError(f"{path}: {error.strerror or error}") from error
    try:
        return split_reply(bytes(data))
    except EngineError as error:
        raise EngineError(f"{path}: {error}") from error
