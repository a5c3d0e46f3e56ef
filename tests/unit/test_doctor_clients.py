"""doctor's client model: for a name, getaddrinfo's answer and what each address said, where each kind of client gets.

The claims themselves are checked against the real clients in tests/scenario/test_doctor_real_clients.py.
"""

from __future__ import annotations

import pytest

from portside.doctor.clients import CLIENTS, reaches

BROWSERS, CURL, PYTHON, NODE, FIRST_ONLY = CLIENTS
UP_4 = {"::1": False, "127.0.0.1": True}
UP_6 = {"::1": True, "127.0.0.1": False}


@pytest.mark.parametrize(("name", "resolved", "scheme", "connected", "expected"), [
    # ::1 first in getaddrinfo, the server on 127.0.0.1: only a client that dials the first address alone fails
    ("localhost", ("::1", "127.0.0.1"), None, UP_4,
     {CURL: "127.0.0.1", PYTHON: "127.0.0.1", NODE: "127.0.0.1", FIRST_ONLY: None}),
    # localhost -> 127.0.0.1 only, the server on ::1: getaddrinfo's clients fail, curl and browsers resolve it themselves
    ("localhost", ("127.0.0.1",), "http", UP_6,
     {BROWSERS: "::1", CURL: "::1", PYTHON: None, NODE: None, FIRST_ONLY: None}),
    ("api.localhost", ("127.0.0.1",), "https", UP_6,
     {BROWSERS: "::1", CURL: "::1", PYTHON: None, NODE: None, FIRST_ONLY: None}),
    # another name: every client takes getaddrinfo's answer
    ("api.test", ("127.0.0.1",), "http", UP_6,
     {BROWSERS: None, CURL: None, PYTHON: None, NODE: None, FIRST_ONLY: None}),
    # an address nobody dialled leaves out the clients that would need it, rather than guess
    ("api.test", ("192.0.2.9", "127.0.0.1"), None, {"127.0.0.1": False}, {}),
    ("api.test", ("127.0.0.1", "192.0.2.9"), None, {"127.0.0.1": True},
     {CURL: "127.0.0.1", PYTHON: "127.0.0.1", NODE: "127.0.0.1", FIRST_ONLY: "127.0.0.1"}),
])
def test_reaches(name: str, resolved: tuple[str, ...], scheme: str | None, connected: dict[str, bool],
                 expected: dict[object, str | None]) -> None:
    assert {reach.client: reach.reaches for reach in reaches(name, resolved, scheme, connected)} == expected


def test_only_a_client_that_dials_the_first_address_alone_never_makes_a_fault() -> None:
    assert [client for client in CLIENTS if not client.stands_for_target] == [FIRST_ONLY]
    assert not FIRST_ONLY.falls_back and BROWSERS.web_only
