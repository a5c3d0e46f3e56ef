"""The dashboard's per-user secret: 32 random bytes (hex) in STATE_DIR/dashboard.token, mode 0600.

Made once, by whichever of `portside dashboard` or the proxy asks first, never through a link
or into a file someone else made (statefiles.open_regular: O_EXCL, O_NOFOLLOW, 0600, a regular
file, in a state dir that is the caller's alone). Another local user cannot read it, so cannot
reach the dashboard: every page and call needs it.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from portside.errors import StateDirError
from portside.leasing.statefiles import SAFE, check_owner, open_regular
from portside.leasing.store import state_dir

FILE_NAME = "dashboard.token"
LENGTH = 64  # hex digits
WAIT = 1.0


def token_path() -> Path:
    return state_dir() / FILE_NAME


def _read(fd: int) -> str:
    return os.read(fd, 4096).decode("ascii", "replace").strip()


def dashboard_token() -> str:
    """The secret, made now when there is none. StateDirError when the state dir or the file cannot be trusted."""
    directory = state_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        raise StateDirError(f"cannot create state directory {directory}: {error.strerror}") from None
    check_owner(directory)
    path = directory / FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | SAFE, 0o600)
    except FileExistsError:
        return _existing(path)
    except OSError as error:
        raise StateDirError(f"cannot create {path}: {error.strerror}") from None
    token = secrets.token_hex(LENGTH // 2)
    try:
        os.write(fd, token.encode() + b"\n")
    finally:
        os.close(fd)
    return token


def _existing(path: Path) -> str:
    """The token in `path`, once its maker has written it (a moment after O_EXCL made it)."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            fd = open_regular(path, os.O_RDONLY)
        except OSError as error:
            raise StateDirError(f"cannot read {path}: {error.strerror}") from None
        try:
            status = os.fstat(fd)
            if hasattr(os, "geteuid") and (status.st_uid != os.geteuid() or status.st_mode & 0o077):
                raise StateDirError(f"{path} must belong to you alone (mode 0600); remove it to make a new one")
            token = _read(fd)
        finally:
            os.close(fd)
        if len(token) == LENGTH and all(c in "0123456789abcdef" for c in token):
            return token
        if time.monotonic() > deadline:
            raise StateDirError(f"{path} does not hold a dashboard token; remove it to make a new one")
        time.sleep(0.02)
