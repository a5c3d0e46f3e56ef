"""What to ask a port first: hints from its number and from the program that listens on it.

Pure tables and one function. A port hint is the protocol registered or customary for that
number (5432 PostgreSQL, 6379 Redis, 443 TLS). A program hint comes from the listener's
owner, which portside can see on this machine and nmap cannot: its name or command line
(`postgres`, `redis-server`, `beam.smp ... rabbit`), or, when its process is hidden from a
non-root caller, the system user its socket belongs to (`postgres`, `mosquitto`). A program
hint outranks a port hint, unless the program serves several protocols and the port names
one of them (RabbitMQ's management HTTP beside its AMQP, NATS's monitoring beside its clients).
"""

from __future__ import annotations

from portside._typing import NamedTuple

# Protocols whose servers speak first: the probe listens for them and asks nothing.
GREETING = "greeting"
# Protocols the probe names from a hint alone: git daemon logs as an error any request but one for a
# repository it serves ("does not appear to be a git repository", "protocol error"), so it is never asked.
UNASKED = frozenset({"git"})

PORTS: dict[int, str] = {
    21: "ftp", 22: "ssh", 25: "smtp", 110: "pop3", 143: "imap", 465: "tls", 587: "smtp", 636: "tls", 853: "tls",
    873: "rsync", 993: "tls", 995: "tls", 1025: "smtp", 2222: "ssh", 2525: "smtp", 3306: "mysql", 4222: "nats",
    8025: "http",
    53: "dns", 389: "ldap", 443: "tls", 1883: "mqtt", 3268: "ldap", 4443: "tls", 5432: "postgresql",
    5433: "postgresql", 5434: "postgresql", 5671: "tls", 5672: "amqp", 6379: "redis", 6380: "redis", 6432: "postgresql",
    6443: "tls", 8222: "http", 8443: "tls", 8883: "tls", 9092: "kafka", 9222: "devtools", 9229: "devtools", 9418: "git",
    9443: "tls", 11211: "memcached", 15672: "http", 26379: "redis", 27017: "mongodb", 27018: "mongodb",
    27019: "mongodb", 50051: "grpc", 50052: "grpc",
    **{port: "vnc" for port in range(5900, 5911)},
}
SPEAK_FIRST = frozenset({"ftp", "ssh", "smtp", "pop3", "imap", "rsync", "mysql", "nats", "vnc", GREETING})

# Program (process name or argv[0] base name) -> the protocols it serves, the one it is best known for first.
PROGRAMS: dict[str, tuple[str, ...]] = {
    "postgres": ("postgresql",), "postmaster": ("postgresql",), "pgbouncer": ("postgresql",),
    "redis-server": ("redis",), "redis-sentinel": ("redis",), "valkey-server": ("redis",),
    "keydb-server": ("redis",), "dragonfly": ("redis", "memcached"), "memcached": ("memcached",),
    "mongod": ("mongodb",), "mongos": ("mongodb",), "mosquitto": ("mqtt", "http"), "slapd": ("ldap",),
    "unbound": ("dns",), "named": ("dns",), "kresd": ("dns",), "knotd": ("dns",), "dnsmasq": ("dns",),
    "coredns": ("dns",), "nats-server": (GREETING, "http"),
    "sshd": (GREETING,), "vsftpd": (GREETING,), "proftpd": (GREETING,), "pure-ftpd": (GREETING,),
    "dovecot": (GREETING,), "exim4": (GREETING,), "exim": (GREETING,), "mariadbd": (GREETING,),
    "mysqld": (GREETING,), "rsync": (GREETING,), "Xvnc": (GREETING,), "Xtigervnc": (GREETING,),
    "x11vnc": (GREETING,), "wayvnc": (GREETING,), "smtpd": (GREETING,), "git-daemon": ("git",),
    "MailHog": (GREETING, "http"), "mailpit": (GREETING, "http"),
}
# Command-line words that name a program hidden behind a runtime (Erlang, Java, Postfix's `master`).
COMMAND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rabbit", ("amqp", "http", "mqtt")), ("kafka.Kafka", ("kafka",)), ("postfix", (GREETING,)),
    ("aiosmtpd", (GREETING,)), ("smtp4dev", (GREETING, "http")),
)
# System users that Debian's packages run their servers as.
USERS: dict[str, tuple[str, ...]] = {
    "postgres": ("postgresql",), "redis": ("redis",), "memcache": ("memcached",), "mongodb": ("mongodb",),
    "rabbitmq": ("amqp", "http"), "mosquitto": ("mqtt",), "openldap": ("ldap",), "unbound": ("dns",),
    "bind": ("dns",), "knot-resolver": ("dns",), "dnsmasq": ("dns",), "kafka": ("kafka",), "mysql": (GREETING,),
    "dovecot": (GREETING,), "Debian-exim": (GREETING,), "ftp": (GREETING,),
}
# Runtimes that mostly serve HTTP: a plain GET they close on without a word is a sign of TLS.
WEB_RUNTIMES = ("python", "node", "deno", "bun", "ruby", "php", "uvicorn", "gunicorn", "hypercorn", "granian",
                "puma", "dotnet", "next-server", "npm", "npx")


class Owner(NamedTuple):
    """What can be seen of the listener's owner: process name and command line, else just the socket's user."""

    name: str | None
    cmdline: tuple[str, ...]
    user: str | None


class Hint(NamedTuple):
    """The likeliest protocol (None: nothing known), whether it speaks first, whether a web runtime owns the port,
    what told it ("port", "program", or "" when nothing did), and for a program that speaks first on some ports
    only, the question to ask when no greeting comes (MailHog's web UI, NATS's monitoring)."""

    first: str | None
    speaks_first: bool
    web_runtime: bool
    source: str = ""
    otherwise: str | None = None


def _program_protocols(owner: Owner) -> tuple[str, ...]:
    names = [owner.name or ""]
    if owner.cmdline:
        names.append(owner.cmdline[0].rsplit("/", 1)[-1])
    for name in names:
        if name in PROGRAMS:
            return PROGRAMS[name]
    command = " ".join(owner.cmdline)
    for word, protocols in COMMAND_WORDS:
        if word in command:
            return protocols
    if owner.name is None and not owner.cmdline and owner.user in USERS:
        return USERS[owner.user]
    return ()


def is_web_runtime(owner: Owner | None) -> bool:
    if owner is None:
        return False
    names = [owner.name or "", owner.cmdline[0].rsplit("/", 1)[-1] if owner.cmdline else ""]
    return any(name.startswith(WEB_RUNTIMES) for name in names if name)


def hint(port: int, owner: Owner | None) -> Hint:
    """The first question for a port, from its number and its owner (None when the owner is not known)."""
    by_port = PORTS.get(port)
    served = _program_protocols(owner) if owner is not None else ()
    first: str | None
    if served and not (by_port in served or (by_port == "tls" and served[0] != GREETING)):
        first, source = served[0], "program"
    else:
        first, source = by_port, "port" if by_port else ""
    later = [protocol for protocol in served if protocol not in SPEAK_FIRST] if first in SPEAK_FIRST else []
    return Hint(first, first in SPEAK_FIRST, is_web_runtime(owner), source, later[0] if later else None)
