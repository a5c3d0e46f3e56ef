"""Service names (`api`, `web.shop`): DNS labels, so that `NAME.localhost` is a valid host.

Pure. A name that is all digits would read as a port, so it is refused as well.
"""

from __future__ import annotations

from portside.errors import UsageError

MAX_LABEL = 63
MAX_NAME = 200
LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def parse_name(text: str) -> str:
    """The name in canonical (lower-case) form; UsageError says what is wrong with it."""
    name = text.strip().lower()
    why = _fault(name)
    if why:
        raise UsageError(f"invalid name {text!r}: {why}")
    return name


def _fault(name: str) -> str | None:
    if not name:
        return "the name is empty"
    if len(name) > MAX_NAME:
        return f"longer than {MAX_NAME} characters"
    if name.isdigit():
        return "a name cannot be all digits (that reads as a port)"
    for label in name.split("."):
        if not label:
            return "empty label (two dots, or a dot at an end)"
        if len(label) > MAX_LABEL:
            return f"label {label!r} is longer than {MAX_LABEL} characters"
        if not set(label) <= LABEL_CHARS:
            return f"label {label!r} may hold only letters, digits and '-' (a DNS label)"
        if label.startswith("-") or label.endswith("-"):
            return f"label {label!r} starts or ends with '-'"
    return None
