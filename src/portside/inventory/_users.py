"""Numeric user ids to login names, where the platform has a user database."""

from __future__ import annotations

from functools import lru_cache

try:
    import pwd
except ImportError:  # Windows has no passwd database
    pwd = None  # type: ignore[assignment]


@lru_cache(maxsize=256)
def user_name(uid: int) -> str:
    """The login name for `uid`, or the number as text when it has no entry."""
    if pwd is None:
        return str(uid)
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
