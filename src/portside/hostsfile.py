"""Read /etc/hosts text: which addresses a name is mapped to there, in file order.

glibc's getaddrinfo (Python, Node, most servers) answers `localhost` from this file
before any DNS; a missing or wrong line sends clients somewhere else. Pure: text in.
"""

from __future__ import annotations

from typing import NamedTuple


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
