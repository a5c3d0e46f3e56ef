"""The servers the probe is tested and benchmarked against: how to start each, what the probe must say, and which
lines of its log are errors.

Three lines are left where any client of the protocol leaves them, and are allowed here:
MariaDB warns "Aborted connection ... closed normally without authentication" for every
connection that does not log in, and git daemon logs "fatal: the remote end hung up
unexpectedly" for every connection that asks nothing, both even for a bare TCP connect
(and git daemon logs any request as an error but one for a repository it serves, so the
probe asks it nothing at all); RabbitMQ warns "client
unexpectedly closed TCP connection" for a client that reads its Connection.Start and leaves
without logging in. nginx's h2c-only listener logs, at the info level, the HTTP/1.1 GET it
was asked (no question is harmless to both HTTP/1.1 and h2c); info is below the levels
judged here. Used by test_probe_servers.py and bench/probe.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import daemons
import servers
from daemons import Daemon
from support import unleased_port


def present(value: object) -> bool:
    return value not in (None, "", [], {})


class Case(NamedTuple):
    """A server, what the probe must say about it, and which of its log lines are errors (less those allowed)."""

    start: Callable[[Path, int], Daemon]
    protocol: str
    details: dict[str, object]  # a value or a predicate
    bad: str
    allowed: str = "$^"


NGINX_BAD = r"\[(warn|error|crit|alert|emerg)\]"


def _nginx(tls: bool) -> Callable[[Path, int], Daemon]:
    return lambda where, port: Daemon((servers.nginx(where, port, tls, log=where / "nginx.log"),), where / "nginx.log")


def _redis(password: str | None) -> Callable[[Path, int], Daemon]:
    return lambda where, port: Daemon((servers.redis(where, port, password, log=where / "redis.log"),),
                                      where / "redis.log")


CASES: dict[str, Case] = {
    "http.server": Case(daemons.http_server, "http", {"status": 200}, r"code [45]\d\d|Traceback|(?i:error)"),
    "nginx": Case(_nginx(tls=False), "http", {"status": 200, "server": lambda s: s.startswith("nginx/")}, NGINX_BAD),
    "nginx-tls": Case(_nginx(tls=True), "tls", {"subject": "CN=localhost", "self_signed": True}, NGINX_BAD),
    "nginx-h2c": Case(daemons.nginx_h2c, "http2", {"status": 200}, NGINX_BAD),
    "grpc-health": Case(lambda where, port: daemons.grpc(where, port, health=True), "grpc",
                        {"grpc_status": 0, "health": "SERVING"}, r"(?i)error|warn|exception|traceback"),
    "grpc": Case(lambda where, port: daemons.grpc(where, port, health=False), "grpc", {"grpc_status": 12},
                 r"(?i)error|warn|exception|traceback"),
    "node-inspector": Case(daemons.node_inspector, "http", {"debugger": "node", "browser": present},
                           r"(?i)error|warn|Debugger attached"),
    "chromium-devtools": Case(daemons.chromium_devtools, "http", {"debugger": "chrome", "browser": present},
                              r"ERROR:(devtools|http_server|server_socket)"),
    "openssh": Case(lambda where, port: Daemon((servers.sshd(where, port, log=where / "sshd.log", level="ERROR"),),
                                               where / "sshd.log"),
                    "ssh", {"software": lambda s: s.startswith("OpenSSH_")}, r"."),  # LogLevel ERROR: any line
    "vsftpd": Case(daemons.vsftpd, "ftp", {"banner": lambda s: "vsFTPd" in s}, r"OOPS|FAIL| \"5\d\d "),
    "aiosmtpd": Case(daemons.aiosmtpd, "smtp", {"banner": lambda s: "SMTP" in s}, r"(?i)error|exception|traceback"),
    "dovecot-imap": Case(lambda where, port: daemons.dovecot(where, port, unleased_port()), "imap",
                         {"capabilities": lambda c: "IMAP4rev1" in c}, r"(Error|Warning|Fatal|Panic):"),
    "dovecot-pop3": Case(lambda where, port: daemons.dovecot(where, unleased_port(), port), "pop3",
                         {"banner": lambda s: "Dovecot" in s}, r"(Error|Warning|Fatal|Panic):"),
    "mariadb": Case(lambda where, port: Daemon((servers.mariadb(where, port, log=where / "mariadb.log"),),
                                               where / "mariadb.log"),
                    "mysql", {"flavour": "mariadb"}, r"\[(ERROR|Warning)\]",
                    allowed=r"Aborted connection .* \(This connection closed normally without authentication\)"),
    "postgresql": Case(lambda where, port: Daemon((servers.postgres(where, port, log=where / "pg.log"),),
                                                  where / "pg.log"),
                       "postgresql", {"ssl": False}, r"(LOG|WARNING|ERROR|FATAL|PANIC):"),
    "postgresql-tls": Case(lambda where, port: Daemon((servers.postgres(where, port, log=where / "pg.log", tls=True),),
                                                      where / "pg.log"),
                           "postgresql", {"ssl": True, "tls": lambda t: t.get("version") in ("TLSv1.2", "TLSv1.3")},
                           r"(LOG|WARNING|ERROR|FATAL|PANIC):"),
    "redis": Case(_redis(None), "redis", {"auth_required": False}, r" # |SECURITY ATTACK"),
    "redis-auth": Case(_redis("s3cret"), "redis", {"auth_required": True}, r" # |SECURITY ATTACK"),
    "memcached": Case(lambda where, port: Daemon((servers.memcached(port, log=where / "mc.log"),), where / "mc.log"),
                      "memcached", {"version": present}, r"^>\d+ (ERROR|CLIENT_ERROR|SERVER_ERROR)"),
    "git-daemon": Case(daemons.git_daemon, "git", {"asked": False, "named_by": "program"}, r".",  # errors only
                       allowed=r"^fatal: the remote end hung up unexpectedly$"),
    "rsyncd": Case(daemons.rsyncd, "rsync", {"version": present}, r"(?i)error|unexpected"),
    "xvnc": Case(daemons.xvnc, "vnc", {"version": "3.8"}, r"(?i)error|fail|blacklist"),
    "nats": Case(daemons.nats, "nats", {"version": present}, r"\[(ERR|WRN|FTL)\]"),
    "mosquitto": Case(daemons.mosquitto, "mqtt", {"connack": "accepted"}, r"(?i)error|warning|not authori[sz]ed"),
    "slapd": Case(daemons.slapd, "ldap", {"naming_contexts": ["dc=example,dc=test"], "result_code": 0},
                  r"err=[1-9]|(?i:error)|connection lost"),
    "unbound": Case(daemons.unbound, "dns", {"rcode": "NXDOMAIN"}, r"(?i)\b(error|warning)\b"),
    "rabbitmq": Case(daemons.rabbitmq, "amqp", {"product": "RabbitMQ", "version": present}, r"\[(error|warning)\]",
                     allowed=r"closing AMQP connection|client unexpectedly closed TCP connection"),
}


def quiet(log: Path, settle: float = 0.3, most: float = 10.0) -> int:
    """The log's size once it has stopped growing for `settle` seconds (or after `most`)."""
    deadline = time.monotonic() + most
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = log.stat().st_size if log.exists() else 0
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= settle:
            break
        time.sleep(0.05)
    return size


def errors_in(case: Case, written: str) -> list[str]:
    """The lines of `written` (a stretch of the server's log) that are errors or warnings, less those allowed."""
    return [line for line in written.splitlines() if re.search(case.bad, line) and not re.search(case.allowed, line)]
