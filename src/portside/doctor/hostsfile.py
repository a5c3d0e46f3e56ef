"""Read /etc/hosts and the hosts line of /etc/nsswitch.conf: where getaddrinfo will send a name.

glibc's getaddrinfo (Python, Node, most servers) answers `localhost` from the hosts file
before any DNS; a missing or wrong line sends clients somewhere else. It knows no
`*.localhost` names unless the file lists them or an NSS module (myhostname, resolve)
answers them. Pure: text in.
"""

from __future__ import annotations

from portside._typing import NamedTuple


class HostsEntry(NamedTuple):
    address: str
    names: tuple[str, ...]


def parse_hosts(text: str) -> tuple[HostsEntry, ...]:
    """Entries of a hosts file: comments and blank lines dropped, names lower-cased."""
    entries = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            entries.append(HostsEntry(fields[0], tuple(name.lower().rstrip(".") for name in fields[1:])))
    return tuple(entries)


def mapped_to(entries: tuple[HostsEntry, ...], name: str) -> tuple[str, ...]:
    """Addresses the file gives `name`, in file order, each once."""
    wanted = name.lower().rstrip(".")
    return tuple(dict.fromkeys(entry.address for entry in entries if wanted in entry.names))


def answers_localhost_names(nsswitch: str) -> bool:
    """Does the `hosts:` line of nsswitch.conf name a module that resolves every *.localhost (myhostname, resolve)?"""
    for line in nsswitch.splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and fields[0] == "hosts:":
            return any(module in ("myhostname", "resolve") for module in fields[1:])
    return False
