"""The local CA on disk: made once under the state directory, and one leaf file per host.

Layout (directory 0700, every key 0600): `tls/ca.pem`, `tls/ca-key.pem`, and
`tls/hosts/HOST.pem` holding a leaf certificate and its key. Files are written whole
(temporary file, then rename), so a reader never sees half a key; the CA is made under a
lock, so two `run --https` never make two. A leaf is reused while the CA that signed it
is the current one and it has a week of validity left. The leaves are an LRU of at most
MAX_LEAVES files: a use sets a leaf's modification time, and making one removes the least
recently used down to 7/8 of the limit (so the directory is scanned once per 32 leaves made,
not for each), and no stream of names can fill the disk.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from portside._typing import TYPE_CHECKING
from portside.errors import UsageError
from portside.leasing.statefiles import open_regular
from portside.leasing.store import open_store, state_dir
from portside.net.addresses import loopback_form
from portside.net.names import parse_name

if TYPE_CHECKING:
    import datetime

    from portside.router.tls.certs import Issued

LOCALHOST = "localhost"
MAX_LEAVES = 256  # leaves kept on disk, and contexts in the proxy's memory (~25 kB each)


def tls_dir() -> Path:
    return state_dir() / "tls"


def ca_cert_path() -> Path:
    """The CA certificate (public: this is the file to trust)."""
    return tls_dir() / "ca.pem"


def _ca_key_path() -> Path:
    return tls_dir() / "ca-key.pem"


def _now() -> datetime.datetime:
    import datetime  # making certificates only: has_ca and ensure_ca with a CA in place never pay for it

    return datetime.datetime.now(datetime.UTC)


def _write_private(path: Path, data: bytes) -> None:
    """Write `path` whole, 0600, through a temporary file made exclusively and never through a link."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with os.fdopen(open_regular(partial, os.O_WRONLY | os.O_TRUNC, create=True), "wb") as file:
        file.write(data)
    os.replace(partial, path)


def load_ca() -> Issued | None:
    """The CA, or None when none has been made (or it cannot be read)."""
    from portside.router.tls.certs import Issued  # cryptography: ~50 ms, paid only by what handles certificates

    try:
        return Issued(ca_cert_path().read_bytes(), _ca_key_path().read_bytes())
    except OSError:
        return None


def has_ca() -> bool:
    """True once a local CA has been made (by `--https` or `portside trust`): the proxy then serves https:// too."""
    return ca_cert_path().is_file()


def ensure_ca() -> tuple[Path, bool]:
    """The CA certificate's path, making the CA if there is none; True when this call made it."""
    if load_ca() is not None:
        return ca_cert_path(), False
    tls_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    with open_store().exclusive("ca.lock"):
        if load_ca() is not None:
            return ca_cert_path(), False
        import getpass

        from portside.router.tls.certs import make_ca

        ca = make_ca(f"{getpass.getuser()}@{socket.gethostname()}", _now())
        _write_private(_ca_key_path(), ca.key)
        _write_private(ca_cert_path(), ca.cert)
        ca_cert_path().chmod(0o644)
    return ca_cert_path(), True


def servable(host: str) -> str:
    """`host` in canonical form if a leaf may be made for it: localhost, NAME.localhost or a loopback address."""
    host = host.strip().lower().rstrip(".")
    loopback = loopback_form(host)
    if loopback is not None:
        return loopback
    if host == LOCALHOST or (host.endswith("." + LOCALHOST) and parse_name(host.removesuffix("." + LOCALHOST))):
        return host
    raise UsageError(f"no certificate is made for {host!r}: only localhost, NAME.localhost and loopback addresses")


def leaf_path(host: str, ca: Issued) -> Path:
    """A PEM file with the certificate and key for `host`, made (or remade) when missing or stale."""
    from portside.router.tls.certs import make_leaf, still_good

    host = servable(host)
    path = tls_dir() / "hosts" / f"{host.replace(':', '_')}.pem"
    try:
        if still_good(path.read_bytes(), ca.cert, _now()):
            os.utime(path, follow_symlinks=False)
            return path
    except OSError:
        pass
    leaf = make_leaf(host, ca, _now())
    _write_private(path, leaf.cert + leaf.key)
    _prune(path.parent)
    return path


def _prune(hosts: Path) -> None:
    """Past MAX_LEAVES leaves in `hosts`, remove the least recently used down to 7/8 of it (partial files are not
    leaves)."""
    leaves = [entry for entry in os.scandir(hosts) if entry.name.endswith(".pem") and not entry.name.startswith(".")]
    if len(leaves) <= MAX_LEAVES:
        return
    keep = MAX_LEAVES * 7 // 8
    used: list[tuple[int, str]] = []
    for entry in leaves:
        try:
            used.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.path))
        except FileNotFoundError:
            continue
    for _, path in sorted(used, reverse=True)[keep:]:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
