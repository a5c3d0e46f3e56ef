"""DNS over TCP: one query for the root zone's NS records, with recursion not desired (RD=0).

A non-recursive question asks the server only what it already holds, so it never makes the
server query anyone else; any answer with our id and the response bit set names DNS, with
its response code (REFUSED is common and still a DNS server).
"""

from __future__ import annotations

import struct

from portside.probing.fingerprints.verdict import NOT_MINE, Step, Verdict

QUERY_ID = 0x7073  # "ps"
QUESTION = struct.pack("!HHHHHH", QUERY_ID, 0x0000, 1, 0, 0, 0) + b"\x00" + struct.pack("!HH", 2, 1)  # . NS IN
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 9: "NOTAUTH"}


class Dns:
    """The length-prefixed query, and the header of the answer."""

    name = "dns"

    def opening(self) -> bytes:
        return struct.pack("!H", len(QUESTION)) + QUESTION

    def feed(self, data: bytes) -> Step:
        if len(data) >= 4 and int.from_bytes(data[2:4], "big") != QUERY_ID:
            return NOT_MINE
        if len(data) < 14:
            return None
        size = int.from_bytes(data[:2], "big")
        _, flags, questions, answers = struct.unpack_from("!HHHH", data, 2)
        if size < 12 or not flags & 0x8000 or (flags >> 11) & 0xF != 0 or questions > 1:
            return NOT_MINE
        code = flags & 0xF
        return Verdict("dns", {"rcode": RCODES.get(code, str(code)), "authoritative": bool(flags & 0x0400),
                               "recursion_available": bool(flags & 0x0080), "answers": answers})

    def at_eof(self, data: bytes) -> Verdict:
        step = self.feed(data) if data else NOT_MINE
        return step if isinstance(step, Verdict) else NOT_MINE
