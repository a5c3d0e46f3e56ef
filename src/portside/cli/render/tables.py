"""Render rows for people: aligned columns, fitted to a terminal and coloured there, plain when piped.

No library is imported on this path: Rich cost `ls` on a terminal ~55 ms of start-up, more
than the inventory itself. On a terminal the header is bold, a cell that must stand out
(exposure `all`, an audit verdict `reachable`) is bold red, and a table wider than the
terminal folds its widest columns inside their cells (as Rich's `overflow="fold"` did), so
nothing is cut off. Piped, or with NO_COLOR / TERM=dumb, there are no escape codes; piped
output is not folded either (scripts read whole lines). Widths are counted in terminal
cells: East Asian wide characters take two (`unicodedata`, imported only for a cell that
is not ASCII).
"""

from __future__ import annotations

from collections.abc import Sequence

from portside.cli.environment import Environment

BOLD = "\x1b[1m"
BOLD_RED = "\x1b[1;31m"
YELLOW = "\x1b[33m"
RESET = "\x1b[0m"
GAP = 2  # blanks between columns
NARROWEST = 8  # a folded column keeps at least this many cells (or its widest cell, if less)
# (column header, the cell's first word) -> how it is shown on a colour terminal.
EMPHASIS = {
    ("EXPOSURE", "all"): BOLD_RED,
    ("EXPOSURE", "interface"): YELLOW,
    ("VERDICT", "reachable"): BOLD_RED,
}


def write_json(env: Environment, data: object) -> None:
    import json  # the table paths never pay for it

    env.stdout.write(json.dumps(data, indent=None, separators=(",", ":")))
    env.stdout.write("\n")


def cell_width(text: str) -> int:
    """Terminal cells `text` takes: 2 for a wide or full-width character, 0 for a combining one, else 1."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
               for char in text)


def fold(text: str, width: int) -> list[str]:
    """`text` cut into pieces of at most `width` terminal cells (a wide character is never split)."""
    if cell_width(text) <= width:
        return [text]
    if text.isascii():
        return [text[start:start + width] for start in range(0, len(text), width)]
    pieces, piece, used = [], "", 0
    for char in text:
        size = cell_width(char)
        if used + size > width and piece:
            pieces.append(piece)
            piece, used = "", 0
        piece += char
        used += size
    return [*pieces, piece]


def _widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    widths = [cell_width(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], cell_width(cell))
    return widths


def fitted(widths: list[int], columns: int) -> list[int]:
    """Column widths that fit `columns` terminal cells: the widest column gives way first, down to NARROWEST."""
    fitted = list(widths)
    excess = sum(fitted) + GAP * (len(fitted) - 1) - columns
    while excess > 0:
        widest = max(range(len(fitted)), key=fitted.__getitem__)
        if fitted[widest] <= NARROWEST:
            break
        fitted[widest] -= 1
        excess -= 1
    return fitted


def _line(cells: Sequence[str], widths: Sequence[int], styles: Sequence[str]) -> str:
    """One line of padded cells, each wrapped in its style; no trailing blanks."""
    parts = []
    for cell, width, style in zip(cells, widths, styles, strict=True):
        pad = " " * (width - cell_width(cell))
        parts.append(f"{style}{cell}{RESET}{pad}" if style and cell else f"{cell}{pad}")
    return (" " * GAP).join(parts).rstrip()


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns separated by two spaces, each as wide as its widest cell; no trailing blanks, no escape codes."""
    widths = _widths(headers, rows)
    plain = [""] * len(headers)
    return "".join(_line(row, widths, plain) + "\n" for row in (headers, *rows))


def terminal_table(headers: Sequence[str], rows: Sequence[Sequence[str]], columns: int, colour: bool) -> str:
    """The table for a terminal `columns` cells wide: folded to fit, and with colour when `colour`."""
    widths = fitted(_widths(headers, rows), columns)
    header_styles = [BOLD if colour else ""] * len(headers)
    out = []
    for row, is_header in ((headers, True), *((row, False) for row in rows)):
        if is_header:
            styles = header_styles
        else:
            styles = [EMPHASIS.get((header, cell.split(" ", 1)[0]), "") if colour else ""
                      for header, cell in zip(headers, row, strict=True)]
        pieces = [fold(cell, width) for cell, width in zip(row, widths, strict=True)]
        for index in range(max(len(piece) for piece in pieces)):
            out.append(_line([piece[index] if index < len(piece) else "" for piece in pieces], widths, styles))
    return "".join(line + "\n" for line in out)


def write_table(env: Environment, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    if env.stdout_isatty:
        env.stdout.write(terminal_table(headers, rows, env.columns, env.colour))
    else:
        env.stdout.write(plain_table(headers, rows))


def write_notes(env: Environment, notes: Sequence[str]) -> None:
    for note in notes:
        env.stderr.write(f"note: {note}\n")
