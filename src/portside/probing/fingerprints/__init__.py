"""Sans-IO protocol fingerprints, one module per family: bytes in, verdict out; runner.py does the I/O.

Each fingerprint asks the question its protocol's own clients ask first, and nothing that
logs in or changes the server's state. `for_protocol` builds the one a protocol name calls for.
"""

from __future__ import annotations

from collections.abc import Callable

from portside._typing import TYPE_CHECKING
from portside.net.addresses import host_port
from portside.probing.fingerprints.brokers import Amqp, Kafka, Mqtt
from portside.probing.fingerprints.cleartext_h2 import H2c
from portside.probing.fingerprints.datastores import Memcached, Postgres, Redis
from portside.probing.fingerprints.dns import Dns
from portside.probing.fingerprints.greetings import Greeting
from portside.probing.fingerprints.handshake import Tls, certificate_details, unverified_context
from portside.probing.fingerprints.ldap import Ldap
from portside.probing.fingerprints.mongo import Mongo, MongoAuth
from portside.probing.fingerprints.replies import recognise
from portside.probing.fingerprints.verdict import NOT_MINE, Step, Verdict, unknown
from portside.probing.fingerprints.web import DevTools, Http, WebpackAssets, WebPage

if TYPE_CHECKING:
    from portside.probing.fingerprints.verdict import Fingerprint as Fingerprint

__all__ = [
    "ASKABLE",
    "NOT_MINE",
    "Amqp",
    "DevTools",
    "Dns",
    "Greeting",
    "H2c",
    "Http",
    "Kafka",
    "Ldap",
    "Memcached",
    "Mongo",
    "MongoAuth",
    "Mqtt",
    "Postgres",
    "Redis",
    "Step",
    "Tls",
    "Verdict",
    "WebPage",
    "WebpackAssets",
    "certificate_details",
    "for_protocol",
    "recognise",
    "unknown",
    "unverified_context",
]

# The protocols a probe can ask directly; the servers that speak first are heard, not asked.
ASKABLE = ("http", "http2", "grpc", "tls", "postgresql", "redis", "memcached", "mongodb", "amqp", "mqtt", "ldap",
           "dns", "kafka", "devtools")


def for_protocol(protocol: str, *, host: str, port: int, server_name: str | None = None, path: str = "/",
                 ) -> Fingerprint:
    """The fingerprint that asks `protocol`'s first question; `host` is what Host (or :authority) names, `path`
    what an HTTP GET asks for.

    Raises KeyError for a protocol that cannot be asked (one whose servers speak first).
    """
    authority = host_port(host, port)
    makers: dict[str, Callable[[], Fingerprint]] = {
        "http": lambda: WebPage(authority, path), "http2": lambda: H2c(authority), "grpc": lambda: H2c(authority),
        "tls": lambda: Tls(server_name), "postgresql": lambda: Postgres(server_name), "redis": Redis,
        "memcached": Memcached, "mongodb": Mongo, "amqp": Amqp, "mqtt": Mqtt, "ldap": Ldap, "dns": Dns,
        "kafka": Kafka, "devtools": lambda: DevTools(authority), "webpack": lambda: WebpackAssets(authority),
    }
    return makers[protocol]()
