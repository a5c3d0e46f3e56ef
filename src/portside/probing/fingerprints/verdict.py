"""What a fingerprint says about the bytes a port sent, and the contract every fingerprint keeps.

A fingerprint is a small sans-IO state machine (h11's pattern): `opening()` gives the bytes
to send first (empty: listen), `feed(data)` takes everything received so far and returns a
`Verdict`, bytes to send next (a handshake's next flight, an acknowledgement), or None to
ask for more; `at_eof(data)` decides when the peer closed. A verdict may carry `farewell`,
the protocol's own goodbye (QUIT, LOGOUT, an MQTT DISCONNECT), which the runner sends before
closing so that the server logs an orderly end rather than a lost client; and `follow`, the
protocol to ask on a fresh connection for more detail once the reply has named it.
"""

from __future__ import annotations

from portside._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import Protocol

Details = dict[str, object]


class Verdict(NamedTuple):
    """`protocol` is None when the bytes are not this fingerprint's protocol."""

    protocol: str | None
    details: Details
    farewell: bytes = b""
    follow: str | None = None


NOT_MINE = Verdict(None, {})

Step = Verdict | bytes | None


if TYPE_CHECKING:  # a shape for type checkers only: importing typing costs every probe and doctor run 3 ms

    class Fingerprint(Protocol):
        name: str

        def opening(self) -> bytes: ...

        def feed(self, data: bytes) -> Step: ...

        def at_eof(self, data: bytes) -> Verdict: ...


def first_line(data: bytes) -> bytes | None:
    """The first line without its end (CRLF or LF), or None while it is incomplete."""
    end = data.find(b"\n")
    return data[: end + 1].rstrip(b"\r\n") if end >= 0 else None


def text(data: bytes) -> str:
    """Bytes shown as text: Latin-1 never fails, and keeps every byte visible."""
    return data.decode("latin-1")


def unknown(data: bytes) -> Verdict:
    """What to say about a port no fingerprint claimed: its first bytes, if it said anything."""
    if not data:
        return Verdict("unknown", {"first_bytes": "", "note": "said nothing"})
    return Verdict("unknown", {"first_bytes": data[:32].hex(" "), "text": text(data[:32])})
