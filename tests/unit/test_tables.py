"""The table renderer: plain columns when piped, fitted and coloured on a terminal, wide characters counted right."""

from __future__ import annotations

import io
import re

from hypothesis import given
from hypothesis import strategies as st

from portside.cli.environment import Environment
from portside.cli.render.tables import (
    BOLD,
    BOLD_RED,
    cell_width,
    fitted,
    fold,
    plain_table,
    terminal_table,
    write_table,
)

HEADERS = ("PROTO", "ADDRESS", "PORT", "EXPOSURE", "PROCESS")
ROWS = [
    ("tcp", "0.0.0.0", "8080", "all", "nginx"),
    ("tcp", "127.0.0.1", "5432", "loopback", "postgres"),
    ("udp", "192.168.1.5", "53", "interface", "unbound"),
]
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def render(tty: bool, colour: bool, columns: int = 80) -> str:
    out = io.StringIO()
    write_table(Environment(out, io.StringIO(), None, tty, tty, colour, columns), HEADERS, ROWS)
    return out.getvalue()


def test_piped_is_plain_aligned_columns() -> None:
    assert render(tty=False, colour=True) == (
        "PROTO  ADDRESS      PORT  EXPOSURE   PROCESS\n"
        "tcp    0.0.0.0      8080  all        nginx\n"
        "tcp    127.0.0.1    5432  loopback   postgres\n"
        "udp    192.168.1.5  53    interface  unbound\n"
    )


def test_terminal_bolds_the_header_and_makes_exposure_all_stand_out() -> None:
    text = render(tty=True, colour=True)
    header, everywhere, loopback, _ = text.splitlines()
    assert header.startswith(f"{BOLD}PROTO")
    assert f"{BOLD_RED}all" in everywhere
    assert "\x1b" not in loopback
    assert ESCAPE.sub("", text) == render(tty=False, colour=True)


def test_no_colour_on_a_terminal_is_plain() -> None:
    assert render(tty=True, colour=False) == render(tty=False, colour=False)


def test_a_narrow_terminal_folds_the_widest_column_inside_its_cells() -> None:
    rows = [("tcp", "8080", "a-very-long-process-name-that-cannot-fit")]
    text = terminal_table(("PROTO", "PORT", "PROCESS"), rows, columns=30, colour=False)
    lines = text.splitlines()
    assert all(len(line) <= 30 for line in lines)
    assert "".join(line[13:] for line in lines[1:]) == rows[0][2]
    assert lines[2].startswith(" " * 13)


def test_wide_characters_take_two_cells() -> None:
    assert cell_width("東京") == 4
    assert cell_width("e\u0301") == 1
    assert fold("東京都", 4) == ["東京", "都"]
    text = plain_table(("NAME", "X"), [("東京", "1"), ("ab", "2")])
    assert text.splitlines() == ["NAME  X", "東京  1", "ab    2"]


@given(st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=8), st.integers(min_value=20, max_value=200))
def test_fitted_widths_fit_or_stop_at_the_narrowest(widths: list[int], columns: int) -> None:
    result = fitted(widths, columns)
    assert all(0 < after <= before for before, after in zip(widths, result, strict=True))
    total = sum(result) + 2 * (len(result) - 1)
    assert total <= columns or all(after == before or after == 8 for before, after in zip(widths, result, strict=True))


@given(st.text(min_size=0, max_size=40), st.integers(min_value=2, max_value=20))
def test_fold_keeps_every_character_within_the_width(text: str, width: int) -> None:
    pieces = fold(text, width)
    assert "".join(pieces) == text
    assert all(cell_width(piece) <= width for piece in pieces)
