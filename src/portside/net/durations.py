"""Durations as people type them on a command line: `30`, `0.5s`, `250ms`, `10m`, `2h`, `1d`.

A duration is a finite number of seconds from 0 to a century. What a verb makes of 0 is
its own (for `wait`, no deadline), so a positive duration too small to tell from 0
(`1e-400`) is refused rather than read as 0; one too large for a clock is refused too.
"""

from __future__ import annotations

import math

from portside.errors import UsageError

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MAX_SECONDS = 100 * 365 * 86400.0
EXPECTED = "expected a number of seconds or e.g. 250ms, 30s, 10m, 2h"


def parse_duration(text: str, what: str = "duration") -> float:
    """Seconds from `text` (a bare number is seconds); UsageError names `what` and the fault."""
    stripped = text.strip().lower()
    number, unit = stripped, "s"
    for suffix in sorted(UNITS, key=len, reverse=True):
        if stripped.endswith(suffix):
            number, unit = stripped[: -len(suffix)], suffix
            break
    try:
        value = float(number) if number.isascii() else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or number.startswith(("+", "-")):
        raise UsageError(f"invalid {what} {text!r}: {EXPECTED}")
    seconds = value * UNITS[unit]
    if seconds > MAX_SECONDS:
        raise UsageError(f"invalid {what} {text!r}: more than 100 years")
    if seconds == 0 and any(digit in "123456789" for digit in number.partition("e")[0]):
        raise UsageError(f"invalid {what} {text!r}: too small to tell from 0")
    return seconds
