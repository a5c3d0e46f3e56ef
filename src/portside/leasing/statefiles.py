"""Files in the state directory, opened without trusting what is found there.

The directory must belong to the caller and be writable by no one else: otherwise another
user could plant a link or a file where portside is about to write (as root, that is a
way to make root write anywhere). Inside it, a file is opened with `O_NOFOLLOW` (a link
is refused, not followed) and `O_NONBLOCK` (a FIFO is refused, not waited on), then
checked to be a regular file; a missing file is created with `O_EXCL` and mode 0600, so
portside never writes through something it did not make. `unwritable` says why a file
the caller may not write is so, with the fix, so that the store can still be read.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
from pathlib import Path

from portside.errors import StateDirError

SAFE = os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
MOVE_ON = "set PORTSIDE_HOME to a writable directory"
KINDS = {
    stat.S_IFDIR: "a directory", stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
}


def _user(uid: int) -> str:
    import pwd

    try:
        return f"user {pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"uid {uid}"


def check_owner(directory: Path) -> None:
    """Refuse a state directory that is not the caller's, or that group or others may write."""
    if not hasattr(os, "geteuid"):  # Windows: the user's profile is private by default
        return
    status, me = directory.stat(), os.geteuid()
    mode, owner = status.st_mode, status.st_uid
    if owner != me:
        raise StateDirError(f"{directory} belongs to {_user(owner)}, not to {_user(me)}; "
                            "set PORTSIDE_HOME to a directory of your own")
    if mode & 0o022:
        who = " and ".join(name for bit, name in ((0o020, "group"), (0o002, "others")) if mode & bit)
        raise StateDirError(f"{directory} is writable by {who} (mode {stat.S_IMODE(mode):04o}); "
                            f"run `chmod 700 {shlex.quote(str(directory))}` or set PORTSIDE_HOME")


def _odd(path: Path, mode: int) -> StateDirError:
    kind = KINDS.get(stat.S_IFMT(mode), "not a regular file")
    return StateDirError(f"{path} is {kind}, where portside keeps a file; remove it or {MOVE_ON}")


def refuse_odd(path: Path) -> None:
    """Refuse `path` if it exists as anything but a regular file: a directory, a link, a FIFO, a device."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise _odd(path, mode)


def open_regular(path: Path, flags: int, *, create: bool = False) -> int:
    """An fd of the regular file `path`, opened with `flags`, never through a link nor waiting on a FIFO.

    With `create`, a missing file is made exclusively, mode 0600 (one made by another
    process in between is opened instead). FileNotFoundError without `create`; other
    OSErrors are the caller's to report.
    """
    try:
        fd = os.open(path, flags | SAFE)
    except FileNotFoundError:
        if not create:
            raise
        try:
            fd = os.open(path, flags | SAFE | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            fd = os.open(path, flags | SAFE)
    except OSError:
        refuse_odd(path)  # a link (ELOOP) or a directory (EISDIR) is named as such
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _odd(path, mode)
    return fd


def disk_state(directory: Path) -> tuple[bool, bool]:
    """(read-only, full) for the file system holding `directory`, as far as statvfs tells."""
    if sys.platform == "win32":
        return False, False
    try:
        fs = os.statvfs(directory)
    except OSError:
        return False, False
    return bool(fs.f_flag & os.ST_RDONLY), fs.f_bavail == 0


def unwritable(path: Path) -> str | None:
    """Why the caller may not write `path`, and the fix; None when it may, or when there is no such file.

    SQLite makes and removes the store's side files at any moment: a file that is missing
    when looked at, or gone when tried, is no file (and no reason).
    """
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    if os.access(path, os.W_OK) or not path.exists():
        return None
    quoted = shlex.quote(str(path))
    if disk_state(path)[0]:
        return f"the file system is read-only; {MOVE_ON}"
    me = os.geteuid() if hasattr(os, "geteuid") else status.st_uid
    if me != 0 and status.st_uid != me:
        return f"{path} belongs to {_user(status.st_uid)}; {MOVE_ON}"
    if me == 0 or status.st_mode & stat.S_IWUSR:  # the mode lets the caller write: an attribute forbids it
        return f"{path} is immutable or append-only (`lsattr -d` shows it); run `chattr -ia {quoted}` or {MOVE_ON}"
    return f"{path} is read-only (mode {stat.S_IMODE(status.st_mode):04o}); run `chmod u+w {quoted}` or {MOVE_ON}"
