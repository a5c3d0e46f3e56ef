"""HPACK (RFC 7541) for the header blocks the proxy receives: hpack's Decoder, remembering blocks it decoded.

A client that sends the same request again (polling, a page reloaded, h2load) sends the same
header block, its fields indexes into the dynamic table; decoding it reads the table and
leaves it as it was. The table's state is named by a count of its changes (an entry added,
its size set), so a block whose decoding changed nothing is remembered under that count
and, while the count stays the same, answered from memory. Any change forgets them all.
"""

from __future__ import annotations

from hpack import Decoder, HeaderTuple
from hpack.table import HeaderTable

REMEMBERED = 256


class CountedTable(HeaderTable):
    """hpack's dynamic table, counting its changes."""

    def __init__(self) -> None:
        super().__init__()
        self.changes = 0

    def add(self, name: bytes, value: bytes) -> None:
        self.changes += 1
        super().add(name, value)

    @property
    def maxsize(self) -> int:
        return HeaderTable.maxsize.fget(self)  # type: ignore[attr-defined,no-any-return]

    @maxsize.setter
    def maxsize(self, newmax: int) -> None:
        self.changes += 1
        HeaderTable.maxsize.fset(self, newmax)  # type: ignore[attr-defined]


class RememberingDecoder(Decoder):
    """Stands in for hpack's Decoder in an H2Connection (its `decoder`), limits copied from the one it replaces."""

    def __init__(self, replaced: Decoder) -> None:
        super().__init__(replaced.max_header_list_size)
        self.max_allowed_table_size = replaced.max_allowed_table_size
        self.header_table: CountedTable = CountedTable()
        self.remembered: dict[tuple[bytes, bool], list[HeaderTuple]] = {}
        self.state = (0, self.max_header_list_size)

    def decode(self, data: bytes, raw: bool = False) -> list[HeaderTuple]:
        state = (self.header_table.changes, self.max_header_list_size)
        if state != self.state:
            self.remembered.clear()
            self.state = state
        key = (bytes(data), raw)
        found = self.remembered.get(key)
        if found is not None:
            return list(found)
        headers: list[HeaderTuple] = super().decode(data, raw)  # type: ignore[assignment]
        if self.header_table.changes == state[0] and len(self.remembered) < REMEMBERED:
            self.remembered[key] = list(headers)
        return headers
