"""The proxy's HPACK encoder (router/hpackout.py): what hpack's own decoder reads back, field for field."""

from __future__ import annotations

from hpack import Decoder
from hypothesis import given
from hypothesis import strategies as st

from portside.router.hpackout import FieldEncoder, integer

fields = st.lists(st.tuples(st.one_of(st.sampled_from([b":status", b"content-type", b"date", b"set-cookie"]),
                                      st.binary(min_size=1, max_size=300)),
                            st.one_of(st.sampled_from([b"200", b"404", b"gzip, deflate", b""]),
                                      st.binary(max_size=300))), max_size=12)


@given(st.lists(fields, min_size=1, max_size=4))
def test_every_block_decodes_to_its_fields_and_leaves_the_table_empty(blocks: list[list[tuple[bytes, bytes]]]) -> None:
    encoder, decoder = FieldEncoder(), Decoder()
    for block in blocks:
        assert decoder.decode(encoder.encode(block), raw=True) == block
    assert decoder.header_table_size == 0 and len(decoder.header_table.dynamic_entries) == 0


def test_a_static_field_is_one_byte_and_the_first_block_sets_the_table_size_to_zero() -> None:
    encoder = FieldEncoder()
    assert encoder.encode([(b":status", b"200")]) == b"\x20\x88"
    assert encoder.encode([(b":status", b"200")]) == b"\x88"
    encoder.header_table_size = 1024  # what h2 does when the client's SETTINGS_HEADER_TABLE_SIZE changes
    assert encoder.encode([(b":status", b"404")]) == b"\x20\x8d"


def test_integers_past_the_prefix() -> None:
    assert integer(10, 5, 0) == b"\x0a"
    assert integer(1337, 5, 0) == b"\x1f\x9a\x0a"  # RFC 7541 C.1.2
    assert integer(42, 8, 0) == b"\x2a"
