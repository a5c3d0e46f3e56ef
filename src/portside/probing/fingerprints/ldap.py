"""LDAP: an anonymous read of the root DSE (no bind), then an unbind.

The search asks the empty base object, scope base, for what a server says about itself
(naming contexts, LDAP versions, vendor). LDAPv3 allows operations before any bind, so no
credentials are sent; a server that refuses anonymous reads still answers with a result
code, which names it as well. Messages are BER (basic encoding rules): tag, length, value.
"""

from __future__ import annotations

from portside.probing.fingerprints.verdict import NOT_MINE, Details, Step, Verdict

SEQUENCE, INTEGER, OCTETS, ENUMERATED, BOOLEAN = 0x30, 0x02, 0x04, 0x0A, 0x01
SEARCH_REQUEST, SEARCH_ENTRY, SEARCH_DONE, SEARCH_REFERENCE, EXTENDED_RESPONSE = 0x63, 0x64, 0x65, 0x73, 0x78
PRESENT_FILTER, UNBIND_REQUEST = 0x87, 0x42
ASKED = {"namingContexts": "naming_contexts", "supportedLDAPVersion": "versions", "vendorName": "vendor",
         "vendorVersion": "vendor_version"}
MAX_MESSAGE = 1 << 20


def tlv(tag: int, value: bytes) -> bytes:
    """One BER element, its length in the short form or the long one."""
    size = len(value)
    if size < 0x80:
        return bytes((tag, size)) + value
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + value


def element(data: bytes, at: int) -> tuple[int, int, int] | None:
    """The tag, value start and value end of the element at `at`; None while it is incomplete.

    Raises ValueError for what BER cannot be: an indefinite or oversized length.
    """
    if len(data) < at + 2:
        return None
    tag, first = data[at], data[at + 1]
    if first < 0x80:
        start, size = at + 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise ValueError("indefinite or oversized BER length")
        if len(data) < at + 2 + count:
            return None
        start, size = at + 2 + count, int.from_bytes(data[at + 2 : at + 2 + count], "big")
    if size > MAX_MESSAGE:
        raise ValueError("BER element too large")
    return (tag, start, start + size) if len(data) >= start + size else None


def children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """The elements inside a constructed value."""
    found = []
    while start < end:
        item = element(data[:end], start)
        if item is None:
            raise ValueError("BER element runs past its parent")
        found.append(item)
        start = item[2]
    return found


SEARCH = tlv(SEQUENCE, tlv(INTEGER, b"\x01") + tlv(SEARCH_REQUEST, b"".join((
    tlv(OCTETS, b""), tlv(ENUMERATED, b"\x00"), tlv(ENUMERATED, b"\x00"), tlv(INTEGER, b"\x01"),
    tlv(INTEGER, b"\x05"), tlv(BOOLEAN, b"\x00"), tlv(PRESENT_FILTER, b"objectClass"),
    tlv(SEQUENCE, b"".join(tlv(OCTETS, name.encode()) for name in ASKED)),
))))
UNBIND = tlv(SEQUENCE, tlv(INTEGER, b"\x02") + tlv(UNBIND_REQUEST, b""))


class Ldap:
    """The root DSE search; its entry and result, then an unbind as the goodbye."""

    name = "ldap"

    def opening(self) -> bytes:
        return SEARCH

    def feed(self, data: bytes) -> Step:
        if data[0] != SEQUENCE:
            return NOT_MINE
        details: Details = {}
        at = 0
        try:
            while (message := element(data, at)) is not None:
                _, start, end = message
                parts = children(data, start, end)
                if len(parts) < 2 or parts[0][0] != INTEGER or parts[1][0] not in (
                        SEARCH_ENTRY, SEARCH_DONE, SEARCH_REFERENCE, EXTENDED_RESPONSE):
                    return NOT_MINE
                tag, op_start, op_end = parts[1]
                if tag == SEARCH_ENTRY:
                    details.update(_entry(data, op_start, op_end))
                elif tag in (SEARCH_DONE, EXTENDED_RESPONSE):
                    result = children(data, op_start, op_end)
                    if not result or result[0][0] != ENUMERATED:
                        return NOT_MINE
                    details["result_code"] = int.from_bytes(data[result[0][1] : result[0][2]], "big")
                    return Verdict("ldap", details, farewell=UNBIND if tag == SEARCH_DONE else b"")
                at = end
        except ValueError:
            return NOT_MINE
        return None

    def at_eof(self, data: bytes) -> Verdict:
        step = self.feed(data) if data else NOT_MINE
        if isinstance(step, Verdict):
            return step._replace(farewell=b"")
        return NOT_MINE


def _entry(data: bytes, start: int, end: int) -> Details:
    """The attributes asked for, from a SearchResultEntry (objectName, then a sequence of attributes)."""
    parts = children(data, start, end)
    if len(parts) < 2 or parts[0][0] != OCTETS or parts[1][0] != SEQUENCE:
        raise ValueError("not a search result entry")
    found: Details = {}
    for _, attribute_start, attribute_end in children(data, parts[1][1], parts[1][2]):
        kind, values = children(data, attribute_start, attribute_end)[:2]
        name = data[kind[1] : kind[2]].decode("utf-8", "replace")
        texts = [data[value[1] : value[2]].decode("utf-8", "replace") for value in children(data, values[1], values[2])]
        key = next((key for asked, key in ASKED.items() if asked.lower() == name.lower()), None)
        if key is not None:
            found[key] = texts if key in ("naming_contexts", "versions") else ", ".join(texts)
    return found
