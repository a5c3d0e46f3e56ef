"""Where a CLI run reads and writes, and how it may render: injected so tests run in-process."""

from __future__ import annotations

import os
import sys

from portside._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import TextIO


class Environment(NamedTuple):
    """Streams and terminal facts of one CLI run (after httpie's `context.Environment`)."""

    stdout: TextIO
    stderr: TextIO
    stdin: TextIO | None
    stdout_isatty: bool
    stdin_isatty: bool
    colour: bool

    @classmethod
    def of_process(cls) -> Environment:
        """The real process's streams, tty-ness and NO_COLOR setting."""
        return cls(
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin=sys.stdin,
            stdout_isatty=sys.stdout.isatty(),
            stdin_isatty=sys.stdin is not None and sys.stdin.isatty(),
            colour="NO_COLOR" not in os.environ,
        )
