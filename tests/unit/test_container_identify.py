"""Which container a listener leads to, one row per way of knowing it: hand-built facts in, Containers out.

The same lookups against real engines are tests/scenario/test_containers.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from records import listener, process

from portside.containers.dnat import DnatRule
from portside.containers.engineapi import EngineContainer, PortMap
from portside.containers.facts import Facts, InsideSocket, Member
from portside.containers.identify import NO_SOCKET, attach, container_for, parked
from portside.containers.standins import StandIn
from portside.model import (
    Container,
    ContainerSource,
    Engine,
    Exposure,
    Family,
    InterfaceAddress,
    Listener,
    ProcessInfo,
    Protocol,
)

DID = "9027" * 16
PID = "4def" * 16
PROXY = process(200, "docker-proxy", user="root", uid=0)
CONMON = process(300, "conmon", user="root", uid=0)
ROOTLESS = process(400, "rootlessport")
DOCKERD = process(100, "dockerd", user="root", uid=0)
HTTPD = process(210, "busybox", user="root", uid=0, ppid=205)
APP = process(310, "node", user="root", uid=0, ppid=300)
WEB1 = EngineContainer(Engine.DOCKER, DID, "web1", "local/bb:1", "running",
                       (PortMap("tcp", "127.0.0.1", 18080, 8080),), ("172.17.0.2",), ("172.17.0.1",))
PWEB = EngineContainer(Engine.PODMAN, PID, "pweb", "localhost/app:2", "running",
                       (PortMap("tcp", "0.0.0.0", 18081, 3000),), ("10.88.0.2",), ("10.88.0.1",))
LOCAL = tuple(InterfaceAddress(Family.IPV4, a, name, i) for i, (a, name) in enumerate(
    [("127.0.0.1", "lo"), ("172.17.0.1", "docker0"), ("10.88.0.1", "cni-podman0")], start=1))
PROXY_ARGV = StandIn(200, "docker-proxy", Engine.DOCKER, "tcp", "127.0.0.1", 18080, "172.17.0.2", 8080)
CONMON_ARGV = StandIn(300, "conmon", Engine.PODMAN, container_id=PID, container_name="pweb")
INSIDE_DOCKER = (InsideSocket("::", 8080, (210,)),)
INSIDE_PODMAN = (InsideSocket("127.0.0.1", 3000, (310,)), InsideSocket("0.0.0.0", 9229, (310,)))


def facts(**fields: Any) -> Facts:
    base: dict[str, Any] = {
        "api": (), "states": (), "stand_ins": {}, "members": {}, "addresses": {}, "inside": {}, "port_owners": {},
        "dnat": (), "processes": {210: HTTPD, 310: APP}, "interfaces": LOCAL,
    }
    return Facts(**{**base, **fields})


DOCKER_MEMBER = {DID: Member(Engine.DOCKER, DID, (210,))}
PODMAN_MEMBER = {PID: Member(Engine.PODMAN, PID, (310,))}
DOCKER_SEEN = Container(Engine.DOCKER, DID, "web1", "local/bb:1", 8080, "172.17.0.2", "running", "docker-proxy",
                        ContainerSource.API, (HTTPD,), ("::",), (8080,))
PODMAN_SEEN = Container(Engine.PODMAN, PID, "pweb", "localhost/app:2", 3000, "10.88.0.2", "running", "conmon",
                        ContainerSource.API, (APP,), ("127.0.0.1",), (3000, 9229))
PUBLISHED_1 = listener("127.0.0.1", 18080, PROXY)
PUBLISHED_2 = listener("0.0.0.0", 18081, CONMON)
HIDDEN_1 = listener("127.0.0.1", 18080, note="owner not visible")

ROWS: dict[str, tuple[Listener, Facts, Container | None]] = {
    "docker-api": (PUBLISHED_1, facts(api=(WEB1,), stand_ins={200: PROXY_ARGV}, members=DOCKER_MEMBER,
                                      inside={DID: INSIDE_DOCKER}), DOCKER_SEEN),
    "podman-api": (PUBLISHED_2, facts(api=(PWEB,), stand_ins={300: CONMON_ARGV}, members=PODMAN_MEMBER,
                                      inside={PID: INSIDE_PODMAN}), PODMAN_SEEN),
    # no API: docker-proxy's argv names the address, the container's own addresses and cgroup the rest
    "docker-argv-cgroup": (PUBLISHED_1, facts(stand_ins={200: PROXY_ARGV}, members=DOCKER_MEMBER,
                                              addresses={DID: ("172.17.0.2",)}, inside={DID: INSIDE_DOCKER}),
                           DOCKER_SEEN._replace(name=None, image=None, source=ContainerSource.CGROUP)),
    "docker-argv-only": (PUBLISHED_1, facts(stand_ins={200: PROXY_ARGV}),
                         Container(Engine.DOCKER, None, None, None, 8080, "172.17.0.2", "running", "docker-proxy",
                                   ContainerSource.ARGV)),
    "docker-state-file": (PUBLISHED_1, facts(states=(WEB1,), stand_ins={200: PROXY_ARGV}, members=DOCKER_MEMBER,
                                             inside={DID: INSIDE_DOCKER}),
                          DOCKER_SEEN._replace(source=ContainerSource.STATE_FILE)),
    # no API: conmon names the container; the DNAT rule its port and address
    "podman-argv-dnat": (PUBLISHED_2, facts(
        stand_ins={300: CONMON_ARGV}, members=PODMAN_MEMBER, inside={PID: INSIDE_PODMAN},
        dnat=(DnatRule("tcp", None, 18081, "10.88.0.2", 3000, "CNI-DN-x", Engine.PODMAN),)),
        PODMAN_SEEN._replace(image=None, source=ContainerSource.ARGV)),
    "rootlessport-namespace": (listener("127.0.0.1", 18082, ROOTLESS), facts(
        stand_ins={400: StandIn(400, "rootlessport", Engine.PODMAN)}, members=PODMAN_MEMBER,
        port_owners={400: PID}, inside={PID: INSIDE_PODMAN}),
        Container(Engine.PODMAN, PID, None, None, None, None, "running", "rootlessport", ContainerSource.CGROUP,
                  inside_ports=(3000, 9229))),
    "rootlessport-api": (listener("127.0.0.1", 18082, ROOTLESS), facts(
        api=(PWEB._replace(ports=(PortMap("tcp", "127.0.0.1", 18082, 3000),)),),
        stand_ins={400: StandIn(400, "rootlessport", Engine.PODMAN)}, members=PODMAN_MEMBER, port_owners={400: PID},
        inside={PID: INSIDE_PODMAN}),
        PODMAN_SEEN._replace(stand_in="rootlessport")),
    # a non-root caller: the owner is hidden, docker-proxy found by name still names the port
    "hidden-owner": (HIDDEN_1, facts(api=(WEB1,), stand_ins={200: PROXY_ARGV}, members=DOCKER_MEMBER,
                                     inside={DID: None}),
                     DOCKER_SEEN._replace(processes=(), inside=None, inside_ports=None)),
    "hidden-owner-api-only": (HIDDEN_1, facts(api=(WEB1,)),
                              DOCKER_SEEN._replace(stand_in=None, processes=(), inside=None, inside_ports=None)),
    # userland-proxy off: dockerd holds the port; the API (or a DNAT rule) says whose it is
    "dockerd-api": (listener("127.0.0.1", 18080, DOCKERD), facts(
        api=(WEB1,), stand_ins={100: StandIn(100, "dockerd", Engine.DOCKER)}, members=DOCKER_MEMBER,
        inside={DID: INSIDE_DOCKER}), DOCKER_SEEN._replace(stand_in="dockerd")),
    "dockerd-dnat-cgroup": (listener("127.0.0.1", 18080, DOCKERD), facts(
        stand_ins={100: StandIn(100, "dockerd", Engine.DOCKER)}, members=DOCKER_MEMBER,
        addresses={DID: ("172.17.0.2",)}, inside={DID: INSIDE_DOCKER},
        dnat=(DnatRule("tcp", "127.0.0.1", 18080, "172.17.0.2", 8080, "DOCKER", Engine.DOCKER),)),
        DOCKER_SEEN._replace(name=None, image=None, stand_in="dockerd", source=ContainerSource.CGROUP)),
    # dockerd's own API on TCP is no container's port
    "dockerd-own-port": (listener("127.0.0.1", 2375, DOCKERD), facts(
        api=(WEB1,), stand_ins={100: StandIn(100, "dockerd", Engine.DOCKER)}), None),
    "not-a-container": (listener("127.0.0.1", 18080, HTTPD), facts(api=(WEB1,), stand_ins={200: PROXY_ARGV}), None),
    "hidden-not-a-container": (listener("127.0.0.1", 5432, note="owner not visible"), facts(api=(WEB1,)), None),
    "other-chain": (listener("127.0.0.1", 2222, note="owner not visible"),
                    facts(dnat=(DnatRule("tcp", None, 2222, "10.0.0.9", 22, "custom", None),)), None),
}


@pytest.mark.parametrize("name", ROWS)
def test_container_for(name: str) -> None:
    found, read, expected = ROWS[name]
    assert container_for(found, read) == expected


def bare(address: str, port: int, exposure: Exposure, reachable: tuple[str, ...], container: Container) -> Listener:
    family = Family.IPV6 if ":" in address else Family.IPV4
    return Listener(Protocol.TCP, family, address, port, False, exposure, reachable, (), (),
                    note=NO_SOCKET.format(engine=container.engine), container=container)


def test_ports_published_without_a_socket_are_listed_from_the_api() -> None:
    wide = PWEB._replace(ports=(PortMap("tcp", "0.0.0.0", 18081, 3000), PortMap("tcp", "::", 18081, 3000),
                                PortMap("udp", "127.0.0.1", 5353, 53)))
    read = facts(api=(WEB1, wide), members={**DOCKER_MEMBER, **PODMAN_MEMBER},
                 inside={DID: INSIDE_DOCKER, PID: INSIDE_PODMAN})
    other = listener("127.0.0.1", 9, process(9, "python3"))
    found = attach((other,), read, (Protocol.TCP,))
    # IPv6 is left out: the engine's network has no IPv6 gateway here; UDP was not asked for
    assert found == (
        other,
        bare("127.0.0.1", 18080, Exposure.LOOPBACK, ("127.0.0.1",), DOCKER_SEEN._replace(stand_in=None)),
        bare("0.0.0.0", 18081, Exposure.ALL, ("127.0.0.1", "172.17.0.1", "10.88.0.1"),
             PODMAN_SEEN._replace(stand_in=None)),
    )


def test_a_published_port_held_by_its_stand_in_is_not_listed_twice() -> None:
    read = facts(api=(WEB1,), stand_ins={200: PROXY_ARGV}, members=DOCKER_MEMBER, inside={DID: INSIDE_DOCKER})
    assert attach((PUBLISHED_1,), read, (Protocol.TCP, Protocol.UDP)) == (PUBLISHED_1._replace(container=DOCKER_SEEN),)


def test_an_engine_of_another_network_namespace_adds_nothing() -> None:
    read = facts(api=(WEB1,), interfaces=LOCAL[:1])
    assert attach((), read, (Protocol.TCP,)) == ()


def test_without_an_api_dnat_rules_list_the_ports_that_have_no_socket() -> None:
    rules = (DnatRule("tcp", "127.0.0.1", 18080, "172.17.0.2", 8080, "DOCKER", Engine.DOCKER),
             DnatRule("tcp", None, 7000, "10.0.0.9", 7000, "custom", None))
    read = facts(dnat=rules, members=DOCKER_MEMBER, addresses={DID: ("172.17.0.2",)}, inside={DID: INSIDE_DOCKER})
    (found,) = attach((), read, (Protocol.TCP,))
    assert found == bare("127.0.0.1", 18080, Exposure.LOOPBACK, ("127.0.0.1",), Container(
        Engine.DOCKER, DID, None, None, 8080, "172.17.0.2", "running", None, ContainerSource.CGROUP, (HTTPD,),
        ("::",), (8080,)))


def test_stopped_containers_that_publish_a_port() -> None:
    stopped = WEB1._replace(state="exited", addresses=(), gateways=())
    assert parked((stopped, PWEB), Protocol.TCP, 18080) == (
        Container(Engine.DOCKER, DID, "web1", "local/bb:1", 8080, None, "exited", None, ContainerSource.API),)
    assert parked((stopped,), Protocol.UDP, 18080) == ()


def test_owner_records_come_from_the_facts() -> None:
    read = facts(api=(WEB1,), stand_ins={200: PROXY_ARGV}, members=DOCKER_MEMBER,
                 inside={DID: (InsideSocket("::", 8080, (210, 999)),)}, processes={210: HTTPD})
    found = container_for(PUBLISHED_1, read)
    assert found is not None and found.processes == (HTTPD,)
    assert isinstance(found.processes[0], ProcessInfo)
