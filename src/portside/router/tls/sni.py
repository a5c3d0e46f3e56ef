"""The proxy's TLS: a server context per host name, picked by SNI, with HTTP/2 offered by ALPN.

The CA is read when the first TLS client arrives (so `run --https` may make it after the
proxy started). A leaf is made (localca.py) only for a name that routes — a live route or a
subdomain of one, as the proxy's routing decides for a request — or for portside.localhost (the
dashboard's); the contexts are an LRU of MAX_LEAVES, as the files are, and a name's context is
served while it is there (names are parsed and routes looked up only on a miss, off the hot path).
Any other name under localhost shares the `localhost` certificate, so the handshakes a web
page can start for endless random names make nothing that lasts. Shared, not refused: a
typo'd https://nmae.localhost then shows the browser's name-mismatch warning, which the user
can pass to reach the proxy's 404 page listing the live routes; a refused handshake would end
at an error page with no way on. A host not under localhost is refused during the handshake,
and a client that names no host (an IP address) gets the `localhost` certificate.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from portside.errors import UsageError
from portside.router.routing import Decision
from portside.router.tls.certs import Issued
from portside.router.tls.localca import LOCALHOST, MAX_LEAVES, leaf_path, load_ca, servable

ALPN = ["h2", "http/1.1"]
DASHBOARD = "portside.localhost"

Decide = Callable[[Sequence[bytes], bytes], Decision]


def _server_context(leaf: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(ALPN)
    context.load_cert_chain(leaf)
    return context


def gets_leaf(host: str, decide: Decide) -> bool:
    """True when `host` (canonical, servable) gets a certificate of its own: the dashboard's name, or one that routes."""
    return host == DASHBOARD or decide([host.encode()], b"/").route is not None


class Certificates:
    """SSL contexts by host name, made on first use from the local CA; `decide` routes a Host as the proxy does."""

    def __init__(self, decide: Decide) -> None:
        self.decide = decide
        self.ca: Issued | None = None
        self.leaves: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self.base: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext | None:
        """The context a TLS connection starts with (the `localhost` certificate); None while no local CA exists."""
        if self.base is None:
            self.ca = load_ca()
            if self.ca is None:
                return None
            self.base = _server_context(leaf_path(LOCALHOST, self.ca))
            self.base.sni_callback = self._pick
        return self.base

    def _leaf(self, server_name: str) -> ssl.SSLContext | None:
        """The name's own context: from the LRU, else made when the name earns one; None for the shared one.

        A name found in the LRU as sent is canonical already: it is not parsed again (servable() costs more than
        the rest of the callback). UsageError for a name not under localhost.
        """
        host = server_name if server_name in self.leaves else servable(server_name)
        context = self.leaves.get(host)
        if context is not None:
            self.leaves.move_to_end(host)
            return context
        if host == LOCALHOST or not gets_leaf(host, self.decide):
            return None
        assert self.ca is not None
        context = self.leaves[host] = _server_context(leaf_path(host, self.ca))
        if len(self.leaves) > MAX_LEAVES:
            self.leaves.popitem(last=False)
        return context

    def _pick(self, connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> int | None:
        if server_name is None:
            return None
        try:
            context = self._leaf(server_name)
        except UsageError:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        if context is not None:
            connection.context = context
        return None
