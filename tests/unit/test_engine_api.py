"""The engine API's replies read as records: HTTP framing (whole, chunked, garbage), container lists, inspect
documents and Docker's state files. Replies are what Docker 20.10 and Podman 4.3 sent on this machine, trimmed."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.containers.engineapi import EngineContainer, PortMap, containers_from, engine_of, inspected, split_reply
from portside.errors import EngineError
from portside.model import Engine

DID = "90271bf6cfbb361495c61ae8742a1fbfa1beef402a0f669a24381947f4f46ffb"
WIDE = "03bf46c0744b255646adce7896ab336487f67772e9211230fbe5f2c7164bf8e0"
PID = "4defa20fd105c90db8d447cea3828be8f87e58fece9ab75168e4a1d6bf4f5a07"
DOCKER_LIST = json.dumps([
    {"Id": WIDE, "Names": ["/wide"], "Image": "local/bb:1", "Command": "busybox httpd -f -p 127.0.0.1:8080",
     "Ports": [{"IP": "0.0.0.0", "PrivatePort": 8080, "PublicPort": 18083, "Type": "tcp"},
               {"IP": "::", "PrivatePort": 8080, "PublicPort": 18083, "Type": "tcp"}],
     "State": "running", "Status": "Up 8 minutes",
     "NetworkSettings": {"Networks": {"bridge": {"Gateway": "172.17.0.1", "IPAddress": "172.17.0.3",
                                                 "IPv6Gateway": "", "GlobalIPv6Address": ""}}}},
    {"Id": DID, "Names": ["/web1"], "Image": "local/bb:1",
     "Ports": [{"IP": "127.0.0.1", "PrivatePort": 8080, "PublicPort": 18080, "Type": "tcp"},
               {"PrivatePort": 9000, "Type": "tcp"}],
     "State": "running", "NetworkSettings": {"Networks": {"bridge": {"Gateway": "172.17.0.1",
                                                                     "IPAddress": "172.17.0.2"}}}},
]).encode()
DOCKER_HEAD = (b"HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
               b"Server: Docker/20.10.24+dfsg1 (linux)\r\nContent-Length: %d\r\n\r\n")
PODMAN_LIST = json.dumps([
    {"Id": PID, "Names": ["/pweb"], "Image": "localhost/local/bb:1",
     "Ports": [{"IP": "", "PrivatePort": 8080, "PublicPort": 18081, "Type": "tcp"}], "State": "running",
     "NetworkSettings": {"Networks": {"podman": {"Gateway": "10.88.0.1", "IPAddress": "10.88.0.2"}}},
     "Name": "", "Config": None},
]).encode()
PODMAN_HEAD = (b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
               b"Libpod-Api-Version: 4.3.1\r\nServer: Libpod/4.3.1 (linux)\r\nContent-Length: %d\r\n\r\n")

WEB1 = EngineContainer(Engine.DOCKER, DID, "web1", "local/bb:1", "running",
                       (PortMap("tcp", "127.0.0.1", 18080, 8080),), ("172.17.0.2",), ("172.17.0.1",))


def test_docker_list() -> None:
    head, body = split_reply(DOCKER_HEAD % len(DOCKER_LIST) + DOCKER_LIST)
    assert head.status == 200 and engine_of(head) is Engine.DOCKER
    assert containers_from(body, engine_of(head)) == (
        EngineContainer(Engine.DOCKER, WIDE, "wide", "local/bb:1", "running",
                        (PortMap("tcp", "0.0.0.0", 18083, 8080), PortMap("tcp", "::", 18083, 8080)),
                        ("172.17.0.3",), ("172.17.0.1",)),
        WEB1,
    )


def test_podman_list_says_libpod_and_an_empty_address_is_every_address() -> None:
    head, body = split_reply(PODMAN_HEAD % len(PODMAN_LIST) + PODMAN_LIST)
    assert engine_of(head) is Engine.PODMAN
    assert containers_from(body, Engine.PODMAN) == (
        EngineContainer(Engine.PODMAN, PID, "pweb", "localhost/local/bb:1", "running",
                        (PortMap("tcp", "0.0.0.0", 18081, 8080),), ("10.88.0.2",), ("10.88.0.1",)),
    )


def chunked(body: bytes, size: int) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


@pytest.mark.parametrize("size", [1, 7, 100, 4096])
def test_a_chunked_reply_reads_as_the_whole(size: int) -> None:
    reply = b"HTTP/1.1 200 OK\r\nServer: Docker/27.0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(DOCKER_LIST, size)
    assert split_reply(reply)[1] == DOCKER_LIST


@pytest.mark.parametrize(("reply", "said"), [
    (b"", "the engine closed without a reply"),
    (b"HTTP/1.0 200 OK\r\nContent-Len", "the reply ended inside its head"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "the reply is not HTTP"),
    (b"\x16\x03\x01\x00\xa5", "the reply is not HTTP"),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\n[]", "the reply ended after 2 of 100 bytes"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a chunked reply that does not parse"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", "a chunked reply that ends early"),
])
def test_garbage_is_an_engine_error(reply: bytes, said: str) -> None:
    with pytest.raises(EngineError, match=said):
        split_reply(reply)


@pytest.mark.parametrize(("body", "said"), [
    (b"<html>not json</html>", "the reply is not JSON"),
    (b"\xff\xfe", "the reply is not JSON"),
    (b'{"message": "page not found"}', "expected a list of containers, got dict"),
])
def test_a_list_that_is_not_one_is_an_engine_error(body: bytes, said: str) -> None:
    with pytest.raises(EngineError, match=said):
        containers_from(body, Engine.DOCKER)


def test_odd_items_are_skipped_and_odd_fields_left_unknown() -> None:
    body = json.dumps([
        "x", {"Names": ["/no-id"]}, {"Id": "abc", "Names": "not-a-list", "Ports": "x", "State": 3},
        {"Id": "def", "Ports": [{"PublicPort": "80", "PrivatePort": 8080}, {"PublicPort": 70000, "PrivatePort": 1},
                                 "junk"], "NetworkSettings": {"Networks": []}},
    ]).encode()
    assert containers_from(body, Engine.DOCKER) == (
        EngineContainer(Engine.DOCKER, "abc", "not-a-list", None, None, (), (), ()),
        EngineContainer(Engine.DOCKER, "def", None, None, None, (PortMap("tcp", "0.0.0.0", 80, 8080),), (), ()),
    )


@given(st.binary(max_size=300))
def test_any_bytes_are_a_reply_or_an_engine_error(data: bytes) -> None:
    try:
        head, body = split_reply(data)
        containers_from(body, engine_of(head))
    except EngineError:
        pass


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["Id", "ID", "Names", "Name", "Ports", "State", "Config", "HostConfig",
                                         "NetworkSettings", "Networks", "PortBindings", "IP", "PublicPort",
                                         "PrivatePort", "HostPort", "Image", "Status", "Running", "Pid"]),
                        inner, max_size=5), max_leaves=20))
def test_any_json_is_records_or_an_engine_error(data: object) -> None:
    body = json.dumps(data).encode()
    for read in (lambda: containers_from(body, Engine.DOCKER), lambda: (inspected(body, Engine.PODMAN),)):
        try:
            for record in read():
                assert all(0 < port.host_port < 65536 for port in record.ports)
        except EngineError:
            pass


STOPPED = json.dumps({
    "Id": DID, "Name": "/web1", "State": {"Status": "exited", "Running": False, "Pid": 0, "ExitCode": 137},
    "Config": {"Image": "local/bb:1"}, "NetworkSettings": {"Ports": {}, "Networks": {"bridge": {"IPAddress": ""}}},
    "HostConfig": {"PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}],
                                    "53/udp": [{"HostIp": "", "HostPort": "5353"}]}},
}).encode()
STATE_FILE = json.dumps({
    "ID": DID, "Name": "/web1", "State": {"Running": True, "Paused": False, "Pid": 29517},
    "Config": {"Image": "local/bb:1"},
    "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2", "Gateway": "172.17.0.1"}},
                        "Ports": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}], "9000/tcp": None}},
}).encode()


def test_inspect_of_a_stopped_container_keeps_its_port_bindings() -> None:
    assert inspected(STOPPED, Engine.DOCKER) == EngineContainer(
        Engine.DOCKER, DID, "web1", "local/bb:1", "exited",
        (PortMap("tcp", "127.0.0.1", 18080, 8080), PortMap("udp", "0.0.0.0", 5353, 53)), (), ())


def test_a_state_file_reads_like_inspect() -> None:
    assert inspected(STATE_FILE, Engine.DOCKER) == WEB1
    paused = json.loads(STATE_FILE)
    paused["State"]["Paused"] = True
    hostconfig = json.dumps({"PortBindings": {"8080/tcp": [{"HostIp": "", "HostPort": "1"}]}}).encode()
    paused["NetworkSettings"]["Ports"] = {}
    found = inspected(json.dumps(paused).encode(), Engine.DOCKER, hostconfig)
    assert found.state == "paused" and found.ports == (PortMap("tcp", "0.0.0.0", 1, 8080),)


def test_an_inspect_document_without_an_id_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="expected a container document with an Id"):
        inspected(b'{"message":"No such container: x"}', Engine.DOCKER)
