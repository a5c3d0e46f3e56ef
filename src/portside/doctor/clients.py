"""Which clients reach a name: how each kind finds its addresses, and whether it tries the next one.

Pure. Each claim was measured against the real clients (tests/scenario/test_doctor_real_clients.py
keeps it true against python3, node and curl on the test machine):

- browsers and curl resolve `localhost` and every `*.localhost` to ::1 and 127.0.0.1
  themselves, whatever /etc/hosts says, and race the addresses (Happy Eyeballs, RFC 8305);
  other names they resolve with getaddrinfo, and race those;
- Python's `socket.create_connection` (urllib, http.client, requests) dials getaddrinfo's
  addresses one after another until one connects;
- Node 20 and later (net.connect, http, fetch) dials them in turn too (`autoSelectFamily`,
  on by default since Node 20);
- some clients dial only the first address: Node before 20, or with `autoSelectFamily: false`.

A client kind "stands for" a target when its failure is the user's failure: browsers for
http(s):// and ws(s):// targets only, curl, Python and Node for every target. A client that
dials only the first address never stands for one: it is named in a warning.
"""

from __future__ import annotations

from collections.abc import Mapping

from portside._typing import NamedTuple
from portside.net.addresses import is_localhost_name
from portside.net.resolve import LOOPBACKS

WEB_SCHEMES = frozenset({"http", "https", "ws", "wss"})


class Client(NamedTuple):
    """A kind of client: how it is named, whether it resolves localhost names itself, whether it falls back."""

    name: str
    own_localhost: bool
    falls_back: bool
    web_only: bool = False
    stands_for_target: bool = True


CLIENTS = (
    Client("browsers", own_localhost=True, falls_back=True, web_only=True),
    Client("curl", own_localhost=True, falls_back=True),
    Client("Python (socket.create_connection: urllib, requests)", own_localhost=False, falls_back=True),
    Client("Node >= 20 (net, http, fetch)", own_localhost=False, falls_back=True),
    Client("clients that dial only the first address (Node < 20, or Node with autoSelectFamily: false)",
           own_localhost=False, falls_back=False, stands_for_target=False),
)


class Reach(NamedTuple):
    """What one kind of client does with the name: the addresses it dials, and the first that connects (None: none)."""

    client: Client
    dialled: tuple[str, ...]
    reaches: str | None


def dialled_by(client: Client, name: str, resolved: tuple[str, ...]) -> tuple[str, ...]:
    """The addresses `client` dials for `name`, in its order, when getaddrinfo answers `resolved`."""
    found = LOOPBACKS if client.own_localhost and is_localhost_name(name) else resolved
    return found if client.falls_back else found[:1]


def reaches(name: str, resolved: tuple[str, ...], scheme: str | None, connected: Mapping[str, bool],
            ) -> tuple[Reach, ...]:
    """For each client kind that applies to a target of `scheme`: where it gets to, given which addresses
    `connected` (an address missing from it was not tried, and a client that needs it is left out)."""
    found = []
    for client in CLIENTS:
        if client.web_only and scheme not in WEB_SCHEMES:
            continue
        dialled = dialled_by(client, name, resolved)
        reached = next((address for address in dialled if connected.get(address)), None)
        if reached is None and any(address not in connected for address in dialled):
            continue
        found.append(Reach(client, dialled, reached))
    return tuple(found)
