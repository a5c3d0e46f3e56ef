"""The bounded ring of a `run` command's last lines (portside.process.output.Ring)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portside.process.output import LINE_SIZE, Ring


def test_lines_in_arrival_order_with_the_unfinished_last() -> None:
    ring = Ring()
    ring.add("stdout", b"one\ntw")
    ring.add("stderr", b"oops\r\n")
    ring.add("stdout", b"o\nthr")
    assert [(line.stream, line.text) for line in ring.lines()] == [
        ("stdout", "one"), ("stderr", "oops"), ("stdout", "two"), ("stdout", "thr")]


def test_bounded_by_count_and_size_per_stream() -> None:
    ring = Ring(lines=3, size=10)
    for index in range(10):
        ring.add("stdout", f"{index}\n".encode())
    ring.add("stderr", b"kept\n")
    assert [line.text for line in ring.lines()] == ["7", "8", "9", "kept"]
    ring.add("stdout", b"x" * 9 + b"\n")
    assert [line.text for line in ring.lines() if line.stream == "stdout"] == ["9", "x" * 9]


def test_long_lines_are_cut_and_bad_utf8_replaced() -> None:
    ring = Ring()
    ring.add("stdout", b"y" * (LINE_SIZE * 3) + b"\n\xff\xfe\n")
    first, second = ring.lines()
    assert len(first.text) == LINE_SIZE and second.text == "\ufffd\ufffd"


@given(st.lists(st.tuples(st.sampled_from(["stdout", "stderr"]), st.binary(max_size=300)), max_size=60))
def test_never_over_its_bounds(chunks: list[tuple[str, bytes]]) -> None:
    ring = Ring(lines=5, size=200)
    for stream, chunk in chunks:
        ring.add(stream, chunk)
    for stream in ("stdout", "stderr"):
        kept = ring.kept[stream]
        assert len(kept) <= 5 and sum(len(line.text) for line in kept) <= 200
