"""The psutil adapter, selected explicitly on Linux, against the same real sockets."""

from __future__ import annotations

from support import listeners_on


def test_portable_backend_lists_owner_and_exposure(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0", "tcp:[::]:0:dual", "udp:0.0.0.0:0")
    data = cli("ls", "--json", "--backend", "portable").json()
    assert any("portable backend" in note for note in data["notes"])
    loop = listeners_on(data, held.ports[0])
    assert [(r["exposure"], r["address"]) for r in loop if held.pid in [p["pid"] for p in r["processes"]]] == [
        ("loopback", "127.0.0.1")
    ]
    (wild,) = [r for r in listeners_on(data, held.ports[1]) if r["address"] == "::"]
    assert wild["exposure"] == "all" and wild["dual_stack"] is True
    assert [p["pid"] for p in wild["processes"]] == [held.pid]
    (udp,) = [r for r in listeners_on(data, held.ports[2], "udp") if r["address"] == "0.0.0.0"]
    assert udp["exposure"] == "all"
    assert "127.0.0.1" in udp["reachable_on"]


def test_portable_and_linux_agree_on_addresses(cli, hold) -> None:
    held = hold("tcp:127.0.0.1:0", "tcp:[::1]:0", "udp:[::1]:0")
    linux = cli("ls", "--json").json()
    portable = cli("ls", "--json", "--backend", "portable").json()

    def rows(data: dict, port: int) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
        return sorted((r["protocol"], r["address"], r["exposure"]) for r in data["listeners"] if r["port"] == port)

    for port in held.ports:
        assert rows(linux, port) == rows(portable, port)
