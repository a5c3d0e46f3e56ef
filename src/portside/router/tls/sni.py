"""The proxy's TLS: a server context per host name, picked by SNI, with HTTP/2 offered by ALPN.

The CA is read when the first TLS client arrives (so `run --https` may make it after the
proxy started); each NAME.localhost gets a leaf of its own on first use (localca.py).
A client naming a host that is not under localhost is refused during the handshake, and
a client that names no host (an IP address) gets the certificate for `localhost`.
"""

from __future__ import annotations

import ssl

from portside.errors import UsageError
from portside.router.tls.certs import Issued
from portside.router.tls.localca import LOCALHOST, leaf_path, load_ca

ALPN = ["h2", "http/1.1"]


def _server_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(ALPN)
    return context


class Certificates:
    """SSL contexts by host name, made on first use from the local CA."""

    def __init__(self) -> None:
        self.ca: Issued | None = None
        self.by_host: dict[str, ssl.SSLContext] = {}
        self.base: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext | None:
        """The context a TLS connection starts with; None while no local CA exists."""
        if self.base is None:
            self.ca = load_ca()
            if self.ca is None:
                return None
            self.base = self._for_host(LOCALHOST)
            self.base.sni_callback = self._pick
        return self.base

    def _for_host(self, host: str) -> ssl.SSLContext:
        context = self.by_host.get(host)
        if context is None:
            assert self.ca is not None
            context = _server_context()
            context.load_cert_chain(leaf_path(host, self.ca))
            self.by_host[host] = context
        return context

    def _pick(self, connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> int | None:
        if server_name is None:
            return None
        try:
            connection.context = self._for_host(server_name.lower().rstrip("."))
        except UsageError:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        return None
