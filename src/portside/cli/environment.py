"""Where a CLI run reads and writes, and how it may render: injected so tests run in-process."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

# Read by type checkers only; importing typing at run time costs start-up time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO


@dataclass(frozen=True)
class Environment:
    """Streams and terminal facts of one CLI run (after httpie's `context.Environment`)."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO | None = field(default_factory=lambda: sys.stdin)
    stdout_isatty: bool = field(default_factory=lambda: sys.stdout.isatty())
    stdin_isatty: bool = field(default_factory=lambda: sys.stdin is not None and sys.stdin.isatty())
    colour: bool = field(default_factory=lambda: "NO_COLOR" not in os.environ)
