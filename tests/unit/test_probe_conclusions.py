"""What the probe concludes from the answer to its one question (runner.conclude), without sockets."""

from __future__ import annotations

import captures
import pytest

from portside.probing.fingerprints import Verdict
from portside.probing.hints import Hint
from portside.probing.runner import Heard, conclude

UNKNOWN_OWNER = Hint(None, False, False)
WEB_RUNTIME = Hint(None, False, True)


@pytest.mark.parametrize(("heard", "asked", "guess", "expected"), [
    # Its own answer.
    (Heard(Verdict("redis", {"auth_required": False}), captures.REDIS_PONG, False), "redis", UNKNOWN_OWNER,
     Verdict("redis", {"auth_required": False})),
    # An answer to the wrong question that names the server: its own protocol next, on a fresh connection.
    (Heard(Verdict(None, {}), captures.REDIS_ON_GET, False), "http", UNKNOWN_OWNER,
     Verdict("redis", {}, follow="redis")),
    (Heard(None, captures.H2C_NGINX_ON_GET, True), "http", UNKNOWN_OWNER, Verdict("http2", {}, follow="http2")),
    # Silence, and a close without a word: no second question, but for a web runtime's close (a TLS server's way).
    (Heard(None, b"", False), "http", WEB_RUNTIME, Verdict("unknown", {"first_bytes": "", "note": "no answer to http"})),
    (Heard(None, b"", True), "http", UNKNOWN_OWNER,
     Verdict("unknown", {"first_bytes": "", "note": "closed without answering http"})),
    (Heard(None, b"", True), "postgresql", WEB_RUNTIME,
     Verdict("unknown", {"first_bytes": "", "note": "closed without answering postgresql"})),
    (Heard(None, b"", True), "http", WEB_RUNTIME,
     Verdict("unknown", {"first_bytes": "", "note": "closed without answering http"}, follow="tls")),
    # Bytes nothing recognises: shown, and nothing more asked.
    (Heard(Verdict(None, {}), b"HELLO weird-proto 1.0\r\n", True), "http", WEB_RUNTIME,
     Verdict("unknown", {"first_bytes": "48 45 4c 4c 4f 20 77 65 69 72 64 2d 70 72 6f 74 6f 20 31 2e 30 0d 0a",
                         "text": "HELLO weird-proto 1.0\r\n"})),
])
def test_conclude(heard: Heard, asked: str, guess: Hint, expected: Verdict) -> None:
    assert conclude(heard, asked, guess) == expected
