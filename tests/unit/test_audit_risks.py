"""Tables for audit's risk rules: what a probe heard (captured answers, or bytes built to the protocol) -> findings."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import bson
import captures
import pytest
from hypothesis import given
from hypothesis import strategies as st
from records import listener, process

from portside.auditing import evaluate
from portside.auditing.policy import Policy
from portside.auditing.risks import risks
from portside.model import Family, InterfaceAddress, Severity
from portside.probing.fingerprints import NOT_MINE, MongoAuth, Verdict, WebPage

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
EXPOSED = listener("0.0.0.0", 8000)
ADDRESSES = (InterfaceAddress(Family.IPV4, "127.0.0.1", "lo", 1), InterfaceAddress(Family.IPV4, "10.0.0.5", "eth0", 2))


def heard_page(page: bytes) -> dict[str, object]:
    fingerprint, verdict = WebPage("h"), None
    verdict = fingerprint.feed(page)
    if not isinstance(verdict, Verdict):
        verdict = fingerprint.at_eof(page)
    assert verdict.protocol == "http"
    return verdict.details


@pytest.mark.parametrize(("page", "fix"), [
    (captures.VITE_PAGE, "bind it to loopback: vite --host 127.0.0.1 (or server.host: '127.0.0.1' in vite.config.js)"),
    (captures.NEXT_PAGE, "bind it to loopback: next dev --hostname 127.0.0.1"),
    (captures.DJANGO_PAGE, "bind it to loopback: python manage.py runserver 127.0.0.1:8000"),
    (captures.RAILS_PAGE, "bind it to loopback: bin/rails server --binding 127.0.0.1"),
    (captures.JUPYTER_PAGE, "bind it to loopback: jupyter lab --ip 127.0.0.1 (or jupyter notebook --ip 127.0.0.1)"),
])
def test_a_dev_server_heard_by_the_probe_is_named_with_its_bind_flag(page: bytes, fix: str) -> None:
    (finding,) = risks(EXPOSED, "http", heard_page(page), NOW)
    assert (finding.code, finding.severity) == ("dev-server-exposed", Severity.WARNING)
    assert finding.fix == fix + " (see docs/dev-servers.md)"
    assert "0.0.0.0:8000" in finding.observed


def test_webpack_named_by_its_assets_report_is_a_dev_server_too() -> None:
    (finding,) = risks(EXPOSED, "http", {"status": 200, "dev_server": "webpack"}, NOW)
    assert finding.fix.startswith("bind it to loopback: webpack serve --host 127.0.0.1")


def test_a_plain_page_is_no_risk() -> None:
    assert risks(EXPOSED, "http", {"status": 200, "server": "nginx"}, NOW) == ()


@pytest.mark.parametrize(("details", "expired"), [
    ({"version": "TLSv1.3", "subject": "CN=old.test", "not_after": "2026-11-30T12:00:00+00:00"}, True),
    ({"version": "TLSv1.3", "subject": "CN=new.test", "not_after": "2026-12-02T12:00:00+00:00"}, False),
    ({"ssl": True, "tls": {"subject": "CN=db", "not_after": "2020-01-01T00:00:00+00:00"}}, True),  # PostgreSQL
    ({"error": "closed during the handshake"}, False),
    ({"not_after": "not a date"}, False),
])
def test_an_expired_certificate_is_a_finding(details: dict[str, object], expired: bool) -> None:
    found = risks(EXPOSED, "tls", details, NOW)
    assert [f.code for f in found] == (["tls-certificate-expired"] if expired else [])
    if expired:
        assert "expired on 20" in found[0].observed and "renew it" in found[0].fix


def test_a_node_inspector_named_by_its_answer_is_a_debugger_even_without_a_command_line() -> None:
    details = {"status": 200, "debugger": "node", "browser": "node.js/v20.19.2"}
    (finding,) = risks(EXPOSED, "http", details, NOW)
    assert finding.code == "debugger-exposed" and "node.js/v20.19.2" in finding.observed


def op_msg(document: dict, responding_to: int = 1) -> bytes:  # type: ignore[type-arg]
    """An OP_MSG reply as mongod frames it (built to the wire protocol: no MongoDB server installs here)."""
    body = struct.pack("<i", 0) + b"\x00" + bson.encode(document)
    return struct.pack("<iiii", 16 + len(body), 9, responding_to, 2013) + body


def test_the_auth_question_is_a_list_of_nothing() -> None:
    opening = MongoAuth().opening()
    length, request_id, responding_to, opcode = struct.unpack_from("<iiii", opening)
    assert (length, request_id, responding_to, opcode) == (len(opening), 1, 0, 2013)
    assert bson.decode(opening[21:]) == {"listDatabases": 1, "nameOnly": True, "filter": {"name": {"$in": []}},
                                         "$db": "admin"}


@pytest.mark.parametrize(("reply", "details"), [
    ({"databases": [], "ok": 1.0}, {"auth_required": False}),  # what mongod without --auth answers
    ({"databases": [], "ok": 1}, {"auth_required": False}),
    ({"ok": 0.0, "errmsg": "command listDatabases requires authentication", "code": 13, "codeName": "Unauthorized"},
     {"auth_required": True, "auth_error": "command listDatabases requires authentication"}),
    ({"ok": 0.0, "errmsg": "node is recovering", "code": 11600}, {"auth_error": "node is recovering"}),
])
def test_mongodb_auth_answers_at_every_chunk_size(reply: dict, details: dict) -> None:  # type: ignore[type-arg]
    data = op_msg(reply)
    for size in range(1, len(data) + 1):
        fingerprint, received, verdict = MongoAuth(), b"", None
        for start in range(0, len(data), size):
            received += data[start : start + size]
            step = fingerprint.feed(received)
            if isinstance(step, Verdict):
                verdict = step
                break
        assert verdict == Verdict("mongodb", details), size


@pytest.mark.parametrize("data", [op_msg({"ok": 1.0}, responding_to=4), op_msg({"databases": []}), b"+PONG\r\n" * 3])
def test_mongodb_auth_not_mine(data: bytes) -> None:
    assert MongoAuth().feed(data) == NOT_MINE


@given(data=st.binary(min_size=1, max_size=300))
def test_mongodb_auth_never_raises(data: bytes) -> None:
    step = MongoAuth().feed(data)
    assert step is None or isinstance(step, Verdict)
    assert MongoAuth().at_eof(data) == NOT_MINE


@pytest.mark.parametrize(("details", "codes"), [
    ({"maxWireVersion": 21, "auth_required": False}, ["mongodb-no-auth"]),
    ({"maxWireVersion": 21, "auth_required": True, "auth_error": "requires authentication"}, []),
    ({"maxWireVersion": 21}, []),  # hello alone proves nothing about authentication
])
def test_mongodb_without_auth_is_a_fault_only_when_proven(details: dict[str, object], codes: list[str]) -> None:
    mongod = listener("0.0.0.0", 27017, process(5, "mongod"))
    found = risks(mongod, "mongodb", details, NOW)
    assert [f.code for f in found] == codes
    if codes:
        assert found[0].severity is Severity.FAULT and "security.authorization: enabled" in found[0].fix


def test_risks_are_judged_only_beyond_loopback_and_at_the_time_given() -> None:
    heard: dict[int, tuple[str | None, dict[str, object]]] = {
        8443: ("tls", {"subject": "CN=x", "not_after": "2026-06-01T00:00:00+00:00"})}
    exposed, local = evaluate((listener("0.0.0.0", 8443), listener("127.0.0.1", 8443)), ADDRESSES, (), "", Policy(),
                              heard, now=NOW)
    assert [f.code for f in exposed.findings] == ["tls-certificate-expired"] and local.findings == ()
    earlier = evaluate((listener("0.0.0.0", 8443),), ADDRESSES, (), "", Policy(), heard,
                       now=datetime(2026, 1, 1, tzinfo=UTC))
    assert earlier[0].findings == ()
