"""Durations as people type them on a command line: `30`, `0.5s`, `250ms`, `10m`, `2h`, `1d`."""

from __future__ import annotations

import math

from portside.errors import UsageError

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


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
        raise UsageError(f"invalid {what} {text!r}: expected a number of seconds or e.g. 250ms, 30s, 10m, 2h")
    return value * UNITS[unit]
