"""The probe's first question: a table of ports and owners, and the hint each gives."""

from __future__ import annotations

import pytest

from portside.probing.fingerprints import ASKABLE
from portside.probing.hints import GREETING, PORTS, PROGRAMS, SPEAK_FIRST, UNASKED, USERS, Hint, Owner, hint


def program(name: str, *argv: str, user: str | None = "root") -> Owner:
    return Owner(name, (name, *argv) if not argv else argv, user)


@pytest.mark.parametrize(("port", "owner", "expected"), [
    (5432, None, Hint("postgresql", False, False, "port")),
    (22, None, Hint("ssh", True, False, "port")),
    (443, None, Hint("tls", False, False, "port")),
    (61234, None, Hint(None, False, False)),
    # The program outranks the port: a PostgreSQL on a port of its own is asked as PostgreSQL.
    (61234, program("postgres"), Hint("postgresql", False, False, "program")),
    (8080, program("redis-server"), Hint("redis", False, False, "program")),
    (61234, program("sshd"), Hint(GREETING, True, False, "program")),
    (61234, program("git-daemon"), Hint("git", False, False, "program")),
    (9418, None, Hint("git", False, False, "port")),
    (61234, program("beam.smp", "/usr/lib/erlang/erts-13/bin/beam.smp", "--", "-s", "rabbit", "boot"),
     Hint("amqp", False, False, "program")),
    (61234, program("java", "java", "-cp", "libs/*", "kafka.Kafka", "server.properties"), Hint("kafka", False, False, "program")),
    # ... unless the program serves several protocols and the port names one of them.
    (15672, program("beam.smp", "beam.smp", "-s", "rabbit"), Hint("http", False, False, "port")),
    (8222, program("nats-server"), Hint("http", False, False, "port")),
    (8883, program("mosquitto"), Hint("tls", False, False, "port")),
    # A program that speaks first on some ports only is asked its other protocol when no greeting comes.
    (61234, program("MailHog"), Hint(GREETING, True, False, "program", "http")),
    (8025, program("MailHog"), Hint("http", False, False, "port")),
    (61234, program("python3", "python3", "-m", "aiosmtpd", "-n"), Hint(GREETING, True, True, "program")),
    # A process hidden from a non-root caller: its socket's user still tells.
    (61234, Owner(None, (), "postgres"), Hint("postgresql", False, False, "program")),
    (61234, Owner(None, (), "root"), Hint(None, False, False)),
    # Web runtimes mark the port: a GET they close on without a word is a sign of TLS.
    (61234, program("node", "node", "server.js"), Hint(None, False, True)),
    (61234, program("python3.11", "/usr/bin/python3.11", "-m", "http.server"), Hint(None, False, True)),
    (5173, program("node", "node", "node_modules/.bin/vite"), Hint(None, False, True)),
])
def test_hint(port: int, owner: Owner | None, expected: Hint) -> None:
    assert hint(port, owner) == expected


def test_every_hint_is_a_question_the_probe_can_ask_a_greeting_it_hears_or_one_it_never_asks() -> None:
    named = set(PORTS.values()) | {p for protocols in PROGRAMS.values() for p in protocols} | {
        p for protocols in USERS.values() for p in protocols}
    assert named <= set(ASKABLE) | SPEAK_FIRST | UNASKED
