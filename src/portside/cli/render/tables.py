"""Render rows for people: a Rich table on a terminal, plain aligned columns when piped.

Rich is imported only when stdout is a terminal, keeping the piped and `--json` paths lean.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from portside.cli.environment import Environment


def write_json(env: Environment, data: object) -> None:
    env.stdout.write(json.dumps(data, indent=None, separators=(",", ":")))
    env.stdout.write("\n")


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns separated by two spaces, each as wide as its widest cell; no trailing blanks."""
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = []
    for row in (headers, *rows):
        cells = [cell.ljust(widths[index]) for index, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def write_table(env: Environment, headers: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> None:
    if not env.stdout_isatty:
        env.stdout.write(plain_table(headers, rows))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=None, header_style="bold", pad_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(file=env.stdout, force_terminal=True, no_color=not env.colour, highlight=False).print(table)


def write_notes(env: Environment, notes: Sequence[str]) -> None:
    for note in notes:
        env.stderr.write(f"note: {note}\n")
