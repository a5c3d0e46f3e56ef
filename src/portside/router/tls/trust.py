"""Add the local CA to the trust stores that browsers and tools read, or take it out again.

Three kinds of store: the system's (Debian's update-ca-certificates, Fedora's
update-ca-trust: curl, Python, Node with --use-system-ca), the NSS databases that
Chromium (~/.pki/nssdb) and Firefox (each profile) read on Linux, and macOS's keychain.
What can be done here is done; what needs another user or a missing tool is said as the
exact commands to run. Each step reports `added`, `removed`, `present`, `absent` or
`todo` with the command.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from portside._typing import NamedTuple

SYSTEM_STORES = (  # (directory of extra CAs, the command that rebuilds the bundle)
    (Path("/usr/local/share/ca-certificates"), "update-ca-certificates"),
    (Path("/etc/pki/ca-trust/source/anchors"), "update-ca-trust"),
)
MACOS_KEYCHAIN = "/Library/Keychains/System.keychain"


class Step(NamedTuple):
    """What happened to one store."""

    store: str
    state: str
    detail: str


def fingerprint(ca_pem: bytes) -> str:
    """The first 16 hex digits of the CA certificate's SHA-256: names its files and NSS nickname."""
    from cryptography import x509  # ~50 ms: paid by trust, not by every verb's --help
    from cryptography.hazmat.primitives import serialization

    der = x509.load_pem_x509_certificate(ca_pem).public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).hexdigest()[:16]


def _run(argv: list[str]) -> str | None:
    """None on success, else the command's last line of complaint."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except OSError as error:
        return str(error)
    if done.returncode == 0:
        return None
    return (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()[-1]


def _system(ca_path: Path, tag: str, remove: bool) -> list[Step]:
    steps = []
    for directory, rebuild in SYSTEM_STORES:
        if not directory.is_dir() or shutil.which(rebuild) is None:
            continue
        target = directory / f"portside-local-ca-{tag}.crt"
        store = f"system ({rebuild})"
        if remove and not target.exists():
            steps.append(Step(store, "absent", str(target)))
            continue
        if not remove and target.is_file() and target.read_bytes() == ca_path.read_bytes():
            steps.append(Step(store, "present", str(target)))
            continue
        if not os.access(directory, os.W_OK):
            command = f"sudo rm {target}" if remove else f"sudo cp {ca_path} {target}"
            steps.append(Step(store, "todo", f"{command} && sudo {rebuild}"))
            continue
        if remove:
            target.unlink()
        else:
            shutil.copyfile(ca_path, target)
            target.chmod(0o644)
        failed = _run([rebuild, "--fresh"] if rebuild == "update-ca-certificates" and remove else [rebuild])
        steps.append(Step(store, "todo" if failed else ("removed" if remove else "added"),
                          f"{rebuild} failed: {failed}" if failed else str(target)))
    return steps


def nss_databases(home: Path) -> list[tuple[str, Path]]:
    """The NSS databases of this user: Chromium's (made if missing), then each Firefox profile's."""
    found = [("Chromium/Chrome (NSS)", home / ".pki" / "nssdb")]
    for profiles in (home / ".mozilla" / "firefox", home / "snap" / "firefox" / "common" / ".mozilla" / "firefox"):
        found += [(f"Firefox profile {db.parent.name}", db.parent) for db in sorted(profiles.glob("*/cert9.db"))]
    return found


def _nss(ca_path: Path, tag: str, home: Path, remove: bool) -> list[Step]:
    nickname = f"portside local CA {tag}"
    certutil = shutil.which("certutil")
    steps = []
    for store, directory in nss_databases(home):
        db = f"sql:{directory}"
        if certutil is None:
            action = f'-D -n "{nickname}"' if remove else f'-A -t C,, -n "{nickname}" -i {ca_path}'
            steps.append(Step(store, "todo", f"install certutil (Debian: apt install libnss3-tools), then: "
                                             f"certutil -d {db} {action}"))
            continue
        if not (directory / "cert9.db").exists():
            if remove:
                continue
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if failed := _run([certutil, "-d", db, "-N", "--empty-password"]):
                steps.append(Step(store, "todo", f"certutil -N failed: {failed}"))
                continue
        listed = _run([certutil, "-d", db, "-L", "-n", nickname]) is None
        if listed != remove:
            steps.append(Step(store, "absent" if remove else "present", str(directory)))
            continue
        argv = ["-D", "-n", nickname] if remove else ["-A", "-t", "C,,", "-n", nickname, "-i", str(ca_path)]
        failed = _run([certutil, "-d", db, *argv])
        steps.append(Step(store, "todo" if failed else ("removed" if remove else "added"),
                          f"certutil failed: {failed}" if failed else str(directory)))
    return steps


def _macos(ca_path: Path, remove: bool) -> list[Step]:
    if sys.platform != "darwin":
        return []
    command = (f"sudo security remove-trusted-cert -d {ca_path}" if remove else
               f"sudo security add-trusted-cert -d -r trustRoot -k {MACOS_KEYCHAIN} {ca_path}")
    return [Step("macOS keychain", "todo", command)]


def trust(ca_path: Path, *, remove: bool = False, home: Path | None = None) -> list[Step]:
    """Add (or remove) the CA at `ca_path` in every store found; one Step per store."""
    tag = fingerprint(ca_path.read_bytes())
    home = home or Path.home()
    return [*_system(ca_path, tag, remove), *_nss(ca_path, tag, home, remove), *_macos(ca_path, remove)]
