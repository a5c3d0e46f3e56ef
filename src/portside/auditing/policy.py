"""The audit policy: what may be reachable beyond loopback. Pure: TOML text in, `Policy` out.

    [[allow]]              # each entry allows the listeners that match all of its keys
    port = 8080            # a port or a list of ports
    process = "nginx"      # a process name (any owner)
    container = "web"      # a container name
    interface = "eth0"     # reachable only through these interfaces is allowed

With no entry, nothing may be reachable beyond loopback. A key that is unknown or of
the wrong type raises `PolicyError` naming the key and what was expected.
"""

from __future__ import annotations

from portside._typing import NamedTuple
from portside.errors import PolicyError

KEYS = ("port", "process", "container", "interface")


class Allow(NamedTuple):
    ports: tuple[int, ...] = ()
    processes: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()


class Policy(NamedTuple):
    allow: tuple[Allow, ...] = ()


def _strings(where: str, value: object) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise PolicyError(f"{where}: expected a name or a list of names, got {value!r}")
    return tuple(str(v) for v in values)


def _ports(where: str, value: object) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    ports = tuple(v for v in values if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 65536)
    if not values or len(ports) != len(values):
        raise PolicyError(f"{where}: expected a port number 1-65535 or a list of them, got {value!r}")
    return ports


def parse_policy(text: str, name: str = "portside.toml") -> Policy:
    """The policy in `text` (TOML); `name` is the file, for messages."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{name}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - {"allow"})
    if unknown:
        raise PolicyError(f"{name}: unknown key {unknown[0]!r}; expected [[allow]] entries")
    entries = data.get("allow", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise PolicyError(f"{name}: allow: expected [[allow]] tables")
    allowed = []
    for index, entry in enumerate(entries):
        where = f"{name}: allow[{index}]"
        extra = sorted(set(entry) - set(KEYS))
        if extra or not entry:
            raise PolicyError(f"{where}: {'unknown key ' + repr(extra[0]) if extra else 'empty entry'}; "
                              f"expected keys: {', '.join(KEYS)}")
        allowed.append(Allow(
            _ports(f"{where}.port", entry["port"]) if "port" in entry else (),
            _strings(f"{where}.process", entry["process"]) if "process" in entry else (),
            _strings(f"{where}.container", entry["container"]) if "container" in entry else (),
            _strings(f"{where}.interface", entry["interface"]) if "interface" in entry else (),
        ))
    return Policy(tuple(allowed))


def allows(entry: Allow, port: int, processes: tuple[str, ...], container: str | None,
           interfaces: tuple[str, ...]) -> bool:
    """True when `entry` allows a listener on `port`, owned by `processes`, reachable through `interfaces`."""
    return (
        (not entry.ports or port in entry.ports)
        and (not entry.processes or bool(set(entry.processes) & set(processes)))
        and (not entry.containers or container in entry.containers)
        and (not entry.interfaces or set(interfaces) <= set(entry.interfaces))
    )
