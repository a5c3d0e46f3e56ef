"""HPACK (RFC 7541) for the header blocks the proxy sends: each field encoded on its own, the bytes cached.

h2's own encoder keeps a dynamic table and costs more than the rest of a response's
HEADERS frame. Here no field is ever added to the dynamic table: a field that is in the
static table whole is sent as its index, any other as a literal without indexing (its name
by static index when there is one), the value as it is (no Huffman). The bytes of a field
then never depend on what came before, so they are computed once per distinct field and
reused by every connection. The first block, and the first after the client changes
SETTINGS_HEADER_TABLE_SIZE, opens with a dynamic table size update to 0, which no
setting can be below.
"""

from __future__ import annotations

from collections.abc import Iterable

from hpack import Encoder
from hpack.table import HeaderTable

CACHE_LIMIT = 4096
STATIC_FIELDS = {field: index for index, field in reversed(list(enumerate(HeaderTable.STATIC_TABLE, 1)))}
STATIC_NAMES = {name: index for (name, _), index in STATIC_FIELDS.items()}
TABLE_SIZE_ZERO = b"\x20"
_cache: dict[tuple[bytes, bytes], bytes] = {}


def integer(value: int, prefix_bits: int, flags: int) -> bytes:
    """An HPACK integer (5.1): `flags` in the bits above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([flags | value])
    out = bytearray([flags | limit])
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def string(data: bytes) -> bytes:
    return integer(len(data), 7, 0) + data


def field(name: bytes, value: bytes) -> bytes:
    """One field's representation: indexed (6.1), or a literal without indexing (6.2.2)."""
    index = STATIC_FIELDS.get((name, value))
    if index is not None:
        return integer(index, 7, 0x80)
    index = STATIC_NAMES.get(name)
    return (integer(index, 4, 0) if index is not None else b"\x00" + string(name)) + string(value)


class FieldEncoder(Encoder):
    """Stands in for hpack's Encoder in an H2Connection (its `encoder`); none of the Encoder's own state is used."""

    def __init__(self) -> None:
        super().__init__()
        self.resized = True

    @property
    def header_table_size(self) -> int:
        return 0

    @header_table_size.setter
    def header_table_size(self, size: int) -> None:
        """The client's SETTINGS_HEADER_TABLE_SIZE changed (h2 tells the encoder): say 0 again."""
        self.resized = True

    def encode(self, headers: Iterable[tuple[bytes, bytes]], huffman: bool = True) -> bytes:  # type: ignore[override]
        parts = [TABLE_SIZE_ZERO] if self.resized else []
        self.resized = False
        cache = _cache
        for pair in headers:
            piece = cache.get(pair)
            if piece is None:
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                piece = cache[pair] = field(pair[0], pair[1])
            parts.append(piece)
        return b"".join(parts)
