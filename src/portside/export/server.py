"""The /metrics HTTP server of `portside exporter` (http.server): one sample per scrape, one scrape at a time.

GET /metrics answers the exposition (`prometheus.CONTENT_TYPE`); GET / a line pointing there; anything
else 404. A sample that fails (the inventory cannot be read) answers 500 with the reason, and the
server goes on.
"""

from __future__ import annotations

import http.server
import socket
from collections.abc import Callable

from portside.errors import PortsideError
from portside.export.prometheus import CONTENT_TYPE, exposition
from portside.export.sampler import Sampler


def serve(address: str, port: int, *, traffic: bool = True, ready: Callable[[], object] | None = None) -> None:
    """Serve until interrupted; `ready` is called once the socket listens. Raises OSError if it cannot bind."""
    sampler = Sampler(traffic=traffic)

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "portside-exporter"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                try:
                    found = sampler.sample()
                except PortsideError as error:
                    self._answer(500, "text/plain; charset=utf-8", f"portside: {error}\n")
                    return
                self._answer(200, CONTENT_TYPE, exposition(found.listeners, found.traffic, found.leases))
            elif path == "/":
                self._answer(200, "text/plain; charset=utf-8", "portside exporter: metrics at /metrics\n")
            else:
                self._answer(404, "text/plain; charset=utf-8", "not found: try /metrics\n")

        def _answer(self, status: int, kind: str, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    class Server(http.server.HTTPServer):
        address_family = socket.AF_INET6 if ":" in address else socket.AF_INET

    try:
        with Server((address, port), Handler) as server:
            if ready is not None:
                ready()
            server.serve_forever()
    finally:
        sampler.close()
