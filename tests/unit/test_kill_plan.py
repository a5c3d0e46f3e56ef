"""`kill`'s plan: which owners get a signal, and when it refuses. Pure; the signalling is tested in scenario/."""

from __future__ import annotations

import re

import pytest
from records import listener, process

from portside.errors import ContainerHeld, RefusedError, StillHeld
from portside.model import Container, ContainerSource, Engine
from portside.process.kill import plan

WEB, WORKER, OTHER = process(4100, "node"), process(4101, "node"), process(4200, "redis-server")
PROTECTED = frozenset({1, 900, 901})  # init, "this process" and its parent


@pytest.mark.parametrize(("listeners", "victims"), [
    ((listener("127.0.0.1", 3000, WEB),), (WEB,)),
    # fork or SO_REUSEPORT: one listener, two owners
    ((listener("127.0.0.1", 3000, WORKER, WEB),), (WEB, WORKER)),
    # both families on one port, the same owner: signalled once
    ((listener("127.0.0.1", 3000, WEB), listener("::1", 3000, WEB)), (WEB,)),
    ((listener("0.0.0.0", 3000, WEB), listener("::", 3000, OTHER)), (WEB, OTHER)),
], ids=["one-owner", "two-owners", "same-owner-twice", "two-listeners"])
def test_every_owner_once_in_pid_order(listeners, victims) -> None:  # type: ignore[no-untyped-def]
    made = plan(listeners, PROTECTED)
    assert made.victims == victims and made.listeners == listeners


@pytest.mark.parametrize(("owner", "named"), [
    (process(1, "systemd"), "pid 1 (systemd)"),
    (process(900, "python3"), "pid 900 (python3)"),
    (process(901, "bash"), "pid 901 (bash)"),
])
def test_init_itself_and_parents_are_refused(owner, named: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RefusedError, match=re.escape(f"refusing to signal {named}: it is init, portside itself")):
        plan((listener("127.0.0.1", 3000, WEB, owner),), PROTECTED)


def test_an_owner_it_cannot_see_is_still_held() -> None:
    hidden = listener("127.0.0.1", 3000, note="owner not visible (socket owned by user root)")
    with pytest.raises(StillHeld, match=re.escape("port 3000 is held by a process portside cannot see: owner not visible (socket")):
        plan((listener("::1", 3000, WEB), hidden), PROTECTED)


PROXY = process(4300, "docker-proxy", user="root", uid=0)
CONMON = process(4301, "conmon", user="root", uid=0)
WEB1 = Container(Engine.DOCKER, "9027" * 16, "web1", "local/bb:1", 8080, "172.17.0.2", "running", "docker-proxy",
                 ContainerSource.API)


@pytest.mark.parametrize(("listeners", "said"), [
    ((listener("127.0.0.1", 18080, PROXY)._replace(container=WEB1),),
     ("port 18080 is published by docker container web1 (local/bb:1), held by docker-proxy (pid 4300), which "
      "portside does not signal (it would break the engine, not stop the container): stop the container with "
      "`docker stop web1`, or rerun with --container")),
    # a DNAT rule alone: nothing to signal at all
    ((listener("127.0.0.1", 18080, inodes=())._replace(container=WEB1._replace(stand_in=None)),),
     "port 18080 is published by docker container web1 (local/bb:1), forwarded by a DNAT rule, which"),
    # a stand-in whose container could not be named is still never signalled
    ((listener("127.0.0.1", 18081, CONMON),),
     ("port 18081 is held by conmon (pid 4301), a container engine's stand-in for a published port; signalling it "
      "would break the engine, not stop the container: find the container with `docker ps` or `podman ps`")),
], ids=["docker-proxy", "dnat-only", "unnamed-conmon"])
def test_a_container_s_stand_in_is_never_a_victim(listeners, said: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ContainerHeld, match=re.escape(said)):
        plan((listener("::1", 18080, WEB), *listeners), PROTECTED)


def test_dockerd_holding_a_container_s_port_is_refused_but_its_own_port_is_not() -> None:
    dockerd = process(4302, "dockerd", user="root", uid=0)
    with pytest.raises(ContainerHeld, match=re.escape("held by dockerd (pid 4302), which portside does not signal")):
        plan((listener("127.0.0.1", 18080, dockerd)._replace(container=WEB1._replace(stand_in="dockerd")),),
             PROTECTED)
    assert plan((listener("127.0.0.1", 2375, dockerd),), PROTECTED).victims == (dockerd,)


def test_with_containers_the_container_is_stopped_and_other_owners_signalled() -> None:
    published = listener("127.0.0.1", 18080, PROXY)._replace(container=WEB1)
    made = plan((published, listener("::1", 18080, WEB), listener("0.0.0.0", 18080, PROXY)._replace(container=WEB1)),
                PROTECTED, containers=True)
    assert made.victims == (WEB,) and made.containers == (WEB1,)


def test_with_containers_an_unnamed_container_is_still_refused() -> None:
    with pytest.raises(ContainerHeld, match="find the container with `docker ps`"):
        plan((listener("127.0.0.1", 18081, CONMON),), PROTECTED, containers=True)
