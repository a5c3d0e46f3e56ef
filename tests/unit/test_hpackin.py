"""The proxy's HPACK decoder (router/hpackin.py): the same headers as hpack's own, block after block."""

from __future__ import annotations

from hpack import Decoder, Encoder
from hypothesis import given
from hypothesis import strategies as st

from portside.router.hpackin import RememberingDecoder

requests = st.lists(st.tuples(st.sampled_from([b":path", b"cookie", b"x-a", b"accept"]),
                              st.sampled_from([b"/", b"/a", b"a=1", b"*/*", b"x" * 300])), min_size=1, max_size=6)


@given(st.lists(requests, min_size=1, max_size=12), st.lists(st.integers(0, 4096), max_size=3))
def test_every_block_decodes_as_hpack_decodes_it(blocks: list[list[tuple[bytes, bytes]]], sizes: list[int]) -> None:
    """Repeated blocks (indexes into the table), new fields (the table changes), size updates in between."""
    encoder, plain, remembering = Encoder(), Decoder(), RememberingDecoder(Decoder())
    for index, block in enumerate(blocks * 2):
        if sizes and index % 5 == 4:
            encoder.header_table_size = sizes[index % len(sizes)]
        data = encoder.encode(block)
        assert remembering.decode(data, raw=True) == plain.decode(data, raw=True) == block
    assert remembering.header_table.dynamic_entries == plain.header_table.dynamic_entries


def test_a_remembered_block_means_what_the_table_says_once_it_changed() -> None:
    encoder, decoder = Encoder(), RememberingDecoder(Decoder())
    first = encoder.encode([(b":path", b"/a")])  # adds /a to the table
    again = encoder.encode([(b":path", b"/a")])  # an index into the table
    assert decoder.decode(first, raw=True) == decoder.decode(again, raw=True) == [(b":path", b"/a")]
    assert list(decoder.remembered) == [(again, True)]
    decoder.decode(encoder.encode([(b"x-b", b"1")]), raw=True)  # the newest entry, index 62, is now x-b
    assert decoder.decode(again, raw=True) == [(b"x-b", b"1")] and list(decoder.remembered) == [(again, True)]
