"""What an engine's API answers, as records: Docker's `GET /containers/json` and `/containers/ID/json`. Pure.

Podman serves the same API (its "compat" endpoints), so one reader does both; the
`Server` header tells them apart (`Docker/20.10`, `Libpod/4.3`). Requests are HTTP/1.0,
so replies come whole and unchunked until the engine closes the connection — but a
chunked reply is still read. Anything that is not a JSON answer of the expected shape
raises EngineError with what was wrong, and becomes a note: never a crash. Docker's
state files (`containers/ID/config.v2.json`) hold the inspect document's fields too.
"""

from __future__ import annotations

import json

from portside._typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import Any

from portside.errors import EngineError
from portside.model import Engine
from portside.probing.http import NotHttp, ResponseHead, parse_response_head

WIDE = {"": "0.0.0.0", "0.0.0.0": "0.0.0.0", "::": "::"}


class PortMap(NamedTuple):
    """One published port: host address (a wildcard for every address) and port -> the container's port."""

    protocol: str
    host_address: str
    host_port: int
    container_port: int


class EngineContainer(NamedTuple):
    """A container as its engine describes it: name, image, state, published ports, addresses on its networks."""

    engine: Engine
    id: str
    name: str | None
    image: str | None
    state: str | None
    ports: tuple[PortMap, ...]
    addresses: tuple[str, ...]
    gateways: tuple[str, ...]


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while True:
        line, found, rest = body.partition(b"\r\n")
        size_text = line.split(b";", 1)[0].strip()
        if not found or not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
            raise EngineError("a chunked reply that does not parse")
        size = int(size_text, 16)
        if size == 0:
            return bytes(out)
        if len(rest) < size:
            raise EngineError("a chunked reply that ends early")
        out += rest[:size]
        body = rest[size:].removeprefix(b"\r\n")


def split_reply(data: bytes) -> tuple[ResponseHead, bytes]:
    """The head and the (de-chunked) body of a whole HTTP reply; EngineError when it is not one."""
    try:
        head = parse_response_head(data)
    except NotHttp as error:
        raise EngineError(f"the reply is not HTTP ({error})") from error
    if head is None:
        raise EngineError("the reply ended inside its head" if data else "the engine closed without a reply")
    crlf, lf = data.find(b"\r\n\r\n"), data.find(b"\n\n")
    body = data[crlf + 4 :] if crlf >= 0 and (lf < 0 or crlf < lf) else data[lf + 2 :]
    if (head.header("transfer-encoding") or "").lower() == "chunked":
        return head, _dechunk(body)
    length = head.header("content-length")
    if length is not None and length.isdigit() and len(body) < int(length):
        raise EngineError(f"the reply ended after {len(body)} of {length} bytes")
    return head, body


def engine_of(head: ResponseHead) -> Engine:
    """Podman when the reply says Libpod (its `Server` or `Libpod-Api-Version` header), else Docker."""
    server = head.header("server") or ""
    return Engine.PODMAN if "libpod" in server.lower() or head.header("libpod-api-version") else Engine.DOCKER


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise EngineError(f"the reply is not JSON ({error})") from error


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _name(value: object) -> str | None:
    if isinstance(value, list):
        value = next((item for item in value if isinstance(item, str)), None)
    return value.lstrip("/") or None if isinstance(value, str) else None


def _number(value: object) -> int | None:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536 else None


def _listed_ports(items: object) -> tuple[PortMap, ...]:
    """`Ports` of /containers/json: [{"IP", "PrivatePort", "PublicPort", "Type"}], unpublished ones left out."""
    found = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        host, inside = _number(item.get("PublicPort")), _number(item.get("PrivatePort"))
        if host is None or inside is None:
            continue
        address = str(item.get("IP") or "")
        found.append(PortMap(str(item.get("Type") or "tcp"), WIDE.get(address, address), host, inside))
    return tuple(dict.fromkeys(found))


def _bound_ports(bindings: object) -> tuple[PortMap, ...]:
    """`{"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}`, as inspect and state files hold it."""
    found = []
    for key, hosts in bindings.items() if isinstance(bindings, dict) else ():
        number, _, protocol = str(key).partition("/")
        inside = _number(number)
        for host in hosts if isinstance(hosts, list) and inside is not None else ():
            port = _number(host.get("HostPort")) if isinstance(host, dict) else None
            if port is not None and inside is not None:
                address = str(host.get("HostIp") or "")
                found.append(PortMap(protocol or "tcp", WIDE.get(address, address), port, inside))
    return tuple(dict.fromkeys(found))


def _networks(settings: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    networks = settings.get("Networks") if isinstance(settings, dict) else None
    addresses, gateways = [], []
    for network in networks.values() if isinstance(networks, dict) else ():
        if isinstance(network, dict):
            addresses += [a for key in ("IPAddress", "GlobalIPv6Address") if (a := _text(network.get(key)))]
            gateways += [g for key in ("Gateway", "IPv6Gateway") if (g := _text(network.get(key)))]
    return tuple(addresses), tuple(gateways)


def containers_from(body: bytes, engine: Engine) -> tuple[EngineContainer, ...]:
    """The records of a `/containers/json` reply; items without an id are skipped."""
    data = _json(body)
    if not isinstance(data, list):
        raise EngineError(f"expected a list of containers, got {type(data).__name__}")
    found = []
    for item in data:
        if not isinstance(item, dict) or not _text(item.get("Id")):
            continue
        addresses, gateways = _networks(item.get("NetworkSettings"))
        found.append(EngineContainer(
            engine, str(item["Id"]), _name(item.get("Names")), _text(item.get("Image")), _text(item.get("State")),
            _listed_ports(item.get("Ports")), addresses, gateways,
        ))
    return tuple(found)


def inspected(body: bytes, engine: Engine, host_config: bytes | None = None) -> EngineContainer:
    """The record of a `/containers/ID/json` reply or a Docker state file (`host_config`: its hostconfig.json).

    Published ports come from the live network settings, else from the port bindings a stopped container keeps.
    """
    data = _json(body)
    if not isinstance(data, dict) or not _text(data.get("Id") or data.get("ID")):
        raise EngineError("expected a container document with an Id")
    state, config, settings = (_object(data.get(key)) for key in ("State", "Config", "NetworkSettings"))
    status = _text(state.get("Status")) or ("running" if state.get("Running") else "exited")
    if state.get("Paused"):
        status = "paused"
    hosting = _object(_json(host_config) if host_config is not None else data.get("HostConfig"))
    ports = _bound_ports(settings.get("Ports")) or _bound_ports(hosting.get("PortBindings"))
    addresses, gateways = _networks(settings)
    return EngineContainer(
        engine, str(data.get("Id") or data.get("ID")), _name(data.get("Name")), _text(config.get("Image")), status,
        ports, addresses, gateways,
    )
