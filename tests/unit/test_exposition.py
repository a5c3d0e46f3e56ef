"""The Prometheus exposition, read back by prometheus_client's own parser; NDJSON lines; --listen's rules."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families
from records import listener, process

from portside.cli.exporter import listen_address
from portside.cli.render.shapes import listener_json
from portside.errors import UsageError
from portside.export.ndjson import lines
from portside.export.prometheus import FAMILIES, Totals, exposition
from portside.model import Container, ContainerSource, Engine, Lease, LeaseState, Protocol
from portside.monitor.events import key_of

WEB = listener("127.0.0.1", 8000, process(10, 'we"ird\\na\nme'), process(11, "node"))
OPEN = listener("0.0.0.0", 5432, process(12, "postgres"))
DNS = listener("::", 53, process(13, "dnsmasq"), protocol=Protocol.UDP)
BOXED = listener("0.0.0.0", 8080)._replace(container=Container(Engine.DOCKER, "abc123", "shop", "nginx", 80, None,
                                                                 "running", "docker-proxy", ContainerSource.API))


def lease(port: int, alive: bool) -> LeaseState:
    return LeaseState(Lease(port, Protocol.TCP, None, 1, 1, 0.0, None), alive)


def parsed(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {family.name: [(sample.labels, sample.value) for sample in family.samples]
            for family in text_string_to_metric_families(text)}


def test_every_family_parses_with_its_type_and_samples() -> None:
    text = exposition([WEB, OPEN, DNS, BOXED], {key_of(WEB): Totals(2, 300, 4000)},
                      [lease(41000, True), lease(41001, False), lease(41002, True)])
    kinds = {family.name: family.type for family in text_string_to_metric_families(text)}
    # prometheus_client names a counter's family without its _total suffix
    assert kinds == {"portside_listener_info": "gauge", "portside_listeners": "gauge",
                     "portside_listener_connections": "gauge", "portside_listener_bytes": "counter",
                     "portside_leases": "gauge"}
    assert len(FAMILIES) == len(kinds)
    families = parsed(text)
    info = {labels["port"]: labels for labels, value in families["portside_listener_info"] if value == 1}
    assert info["8000"] == {"protocol": "tcp", "address": "127.0.0.1", "port": "8000", "exposure": "loopback",
                            "process": 'node,we"ird\\na\nme', "container": ""}
    assert info["53"]["protocol"] == "udp" and info["53"]["exposure"] == "all"
    assert info["8080"]["container"] == "shop"
    assert {labels["exposure"]: value for labels, value in families["portside_listeners"]} == {
        "loopback": 1, "interface": 0, "all": 3}
    assert {labels["port"]: value for labels, value in families["portside_listener_connections"]} == {
        "8000": 2, "5432": 0, "8080": 0}
    assert {(labels["port"], labels["direction"]): value
            for labels, value in families["portside_listener_bytes"]}[("8000", "in")] == 300
    assert {(labels["port"], labels["direction"]): value
            for labels, value in families["portside_listener_bytes"]}[("8000", "out")] == 4000
    assert {labels["state"]: value for labels, value in families["portside_leases"]} == {"alive": 2, "stale": 1}


def test_no_pid_or_command_line_in_labels() -> None:
    text = exposition([WEB], {}, [])
    assert "pid" not in text.replace("portside", "") and "cmdline" not in text and '"10"' not in text


def test_one_series_per_listener_key() -> None:
    families = parsed(exposition([WEB, WEB._replace(processes=())], {}, []))
    assert len(families["portside_listener_info"]) == 1


def test_an_empty_machine_still_has_every_family() -> None:
    text = exposition([], {}, [])
    assert {family.name for family in text_string_to_metric_families(text)} >= {
        "portside_listeners", "portside_leases"}
    assert text.endswith("\n")


def test_ndjson_has_ls_json_keys_per_line() -> None:
    written = list(lines([WEB, DNS]))
    assert [json.loads(line) for line in written] == [listener_json(WEB), listener_json(DNS)]
    assert all("\n" not in line for line in written)


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:9917", ("127.0.0.1", 9917, False)),
    ("[::1]:9100", ("::1", 9100, False)),
    ("127.3.4.5:80", ("127.3.4.5", 80, False)),
])
def test_listen_on_loopback(text: str, expected: tuple[str, int, bool]) -> None:
    assert listen_address(text, allow_remote=False) == expected


@pytest.mark.parametrize("text", ["0.0.0.0:9917", "[::]:9917", "192.0.2.7:9917"])
def test_listen_beyond_loopback_needs_the_flag(text: str) -> None:
    with pytest.raises(UsageError, match="--allow-remote"):
        listen_address(text, allow_remote=False)
    assert listen_address(text, allow_remote=True)[2] is True


@pytest.mark.parametrize("text", ["9917", "localhost:9917", "example.org:80", "127.0.0.1:99999", ""])
def test_listen_needs_an_ip_and_a_port(text: str) -> None:
    with pytest.raises(UsageError):
        listen_address(text, allow_remote=False)
