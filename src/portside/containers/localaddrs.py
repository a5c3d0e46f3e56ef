"""A network namespace's own addresses, from /proc/PID/net/fib_trie and if_inet6 of a process in it. Pure.

Without the engine's API, this is how a container's address (which docker-proxy's argv
and DNAT rules name) is tied to the container's processes: /proc/PID/net shows the
namespace PID lives in, readable without entering it and without root. In fib_trie a
local address is a leaf followed by a `/32 host LOCAL` line; if_inet6 lists IPv6 ones
as 32 hex digits. Loopback addresses are left out: every namespace has them.
"""

from __future__ import annotations

import ipaddress


def parse_fib_trie(text: str) -> tuple[str, ...]:
    """The IPv4 addresses the namespace owns (host LOCAL routes), loopback excepted."""
    found: list[str] = []
    leaf = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|-- "):
            leaf = stripped[4:]
        elif (leaf is not None and stripped.startswith("/32 host LOCAL") and not leaf.startswith("127.")
              and leaf not in found):
            found.append(leaf)
    return tuple(found)


def parse_if_inet6(text: str) -> tuple[str, ...]:
    """The IPv6 addresses of /proc/net/if_inet6, loopback and link-local excepted."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or len(fields[0]) != 32:
            continue
        try:
            address = ipaddress.IPv6Address(int(fields[0], 16))
        except ValueError:
            continue
        if not (address.is_loopback or address.is_link_local):
            found.append(str(address))
    return tuple(found)
