"""Where a CLI run reads and writes, and how it may render: injected so tests run in-process."""

from __future__ import annotations

import os
import sys

from portside._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import TextIO

DEFAULT_COLUMNS = 80


def terminal_width() -> int:
    """What `shutil.get_terminal_size` says (COLUMNS, else stdout's terminal, else 80), without importing shutil
    (and with it bz2 and lzma)."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or DEFAULT_COLUMNS


class Environment(NamedTuple):
    """Streams and terminal facts of one CLI run (after httpie's `context.Environment`).

    `colour` is off under NO_COLOR (no-color.org) and TERM=dumb; `columns` is the terminal's width.
    """

    stdout: TextIO
    stderr: TextIO
    stdin: TextIO | None
    stdout_isatty: bool
    stdin_isatty: bool
    colour: bool
    columns: int = DEFAULT_COLUMNS

    @classmethod
    def of_process(cls) -> Environment:
        """The real process's streams, tty-ness, colour settings and terminal width."""
        stdout_isatty = sys.stdout.isatty()
        return cls(
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin=sys.stdin,
            stdout_isatty=stdout_isatty,
            stdin_isatty=sys.stdin is not None and sys.stdin.isatty(),
            colour="NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb",
            columns=terminal_width() if stdout_isatty else DEFAULT_COLUMNS,
        )
