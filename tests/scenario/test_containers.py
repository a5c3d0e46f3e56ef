"""Containers behind ports, against real engines: Docker (userland proxy on and off) and Podman (conmon, rootlessport).

Each engine runs in a network namespace of its own (engines.py), shared by the session;
each test starts busybox containers from a local image and removes them. `portside` runs
in the engine's namespace, pointed at the engine's API socket or, to test the fallbacks,
not (then it finds containers through stand-ins' argv, cgroups, Docker's state files and
DNAT rules). Traffic goes only to loopback inside those namespaces.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from engines import Docker, Engine, FakeEngine, Podman, Result

NOBODY = "65534"


def httpd(port: int = 8080, bind: str | None = None) -> tuple[str, ...]:
    return ("busybox", "httpd", "-f", "-p", f"{bind}:{port}" if bind else str(port), "-h", "/www")


@pytest.fixture
def containers() -> Iterator[Callable[..., str]]:
    """`start(engine, name, publish, *command, network=None)`: a container started, removed after the test."""
    made: list[tuple[Engine, str]] = []

    def start(engine: Engine, name: str, publish: str, *command: str, network: str | None = None) -> str:
        cid = engine.run(name, publish, *(command or httpd()), network=network)
        made.append((engine, name))
        return cid

    yield start
    for engine, name in made:
        engine.remove(name)


def listeners(result: Result, port: int) -> list[dict[str, Any]]:
    assert result.status == 0, result.stderr
    return [row for row in result.json()["listeners"] if row["port"] == port]


def only(result: Result, port: int) -> dict[str, Any]:
    (row,) = listeners(result, port)
    return row


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def on_a_terminal(engine: Engine, typed: str, *args: str) -> Result:
    """`portside ARGS` in the engine's namespace with a terminal (script(1)'s pty) for stdin and stdout."""
    command = shlex.join(engine.inside(sys.executable, "-m", "portside", *args))
    done = subprocess.run(["script", "-qec", command, "/dev/null"], input=typed, capture_output=True, text=True,
                          env=engine.env(), timeout=60, check=False)
    return Result(done.returncode, done.stdout.replace("\r\n", "\n"), done.stderr, 0.0)


def codes(result: Result) -> list[str]:
    return [finding["code"] for finding in result.json()["findings"]]


# Docker, with docker-proxy


def test_docker_port_on_loopback_names_its_container(docker_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    cid = containers(docker_engine, "web", "127.0.0.1:18080:8080")
    row = only(docker_engine.portside("ls", "--json"), 18080)
    assert row["address"] == "127.0.0.1" and row["exposure"] == "loopback"
    assert [p["name"] for p in row["processes"]] == ["docker-proxy"]
    container = row["container"]
    assert {key: container[key] for key in ("engine", "id", "name", "image", "container_port", "state", "stand_in",
                                            "source", "inside", "inside_ports")} == {
        "engine": "docker", "id": cid, "name": "web", "image": "local/bb:1", "container_port": 8080,
        "state": "running", "stand_in": "docker-proxy", "source": "api", "inside": ["::"], "inside_ports": [8080]}
    assert container["container_address"].startswith("172.17.")
    # the container's own process is named beside the stand-in
    assert [p["cmdline"][:2] for p in container["processes"]] == [["busybox", "httpd"]]
    plain = docker_engine.portside("ls", "--port", "18080")
    assert plain.stdout.splitlines()[0].split()[-1] == "CONTAINER" and "docker web:8080" in plain.stdout
    assert "containers named through the engine API (docker at " in plain.stderr


def test_who_shows_container_and_image(docker_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    containers(docker_engine, "who-web", "127.0.0.1:18086:8080")
    shown = docker_engine.portside("who", "18086")
    assert shown.status == 0, shown.stderr
    assert "container: docker container who-web (local/bb:1)" in shown.stdout
    assert "held on this host by docker-proxy" in shown.stdout
    assert "service: pid" in shown.stdout and "busybox httpd -f -p 8080" in shown.stdout
    (listener,) = docker_engine.portside("who", "18086", "--json").json()["listeners"]
    assert listener["container"]["name"] == "who-web" and listener["container"]["image"] == "local/bb:1"


def test_a_healthy_container_is_ok(docker_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    containers(docker_engine, "healthy", "127.0.0.1:18087:8080")
    result = docker_engine.portside("doctor", "http://127.0.0.1:18087/", "--json")
    assert (result.status, codes(result)) == (0, ["ok"]), result.stdout
    assert "HTTP 200" in result.json()["findings"][0]["observed"]


def test_published_on_every_address_is_a_warning(docker_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    containers(docker_engine, "wide", "18081:8080")
    rows = listeners(docker_engine.portside("ls", "--json"), 18081)
    assert sorted(row["address"] for row in rows) == ["0.0.0.0", "::"]
    assert all(row["exposure"] == "all" and row["container"]["name"] == "wide" for row in rows)
    result = docker_engine.portside("doctor", "127.0.0.1:18081", "--json")
    assert (result.status, codes(result)) == (0, ["published-wide", "ok"])
    warning = result.json()["findings"][0]
    assert warning["severity"] == "warning" and "-p 127.0.0.1:18081:8080" in warning["fix"]


def test_a_service_bound_to_the_container_s_loopback(docker_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    containers(docker_engine, "inner", "127.0.0.1:18082:8080", *httpd(8080, "127.0.0.1"))
    assert only(docker_engine.portside("ls", "--json"), 18082)["container"]["inside"] == ["127.0.0.1"]
    result = docker_engine.portside("doctor", "127.0.0.1:18082", "--json")
    assert (result.status, codes(result)) == (1, ["container-loopback"])
    finding = result.json()["findings"][0]
    assert "listens only on 127.0.0.1" in finding["observed"] and "closed the connection" in finding["observed"]
    assert "busybox httpd -p 0.0.0.0:8080" in finding["fix"]
    # the container's own view, from the host
    inside = docker_engine.portside("ls", "--namespaces", "--json").json()["namespaces"]
    (mine,) = [row for row in inside if row["container"] and row["container"]["name"] == "inner"]
    assert (mine["address"], mine["port"], mine["process"]) == ("127.0.0.1", 8080, "busybox")
    assert mine["container"]["image"] == "local/bb:1"
    table = docker_engine.portside("ls", "--namespaces", "--port", "8080")
    assert "NAMESPACE" in table.stdout and "docker inner" in table.stdout


def test_published_to_a_port_nothing_listens_on(docker_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    containers(docker_engine, "mismatch", "127.0.0.1:18083:9000")
    result = docker_engine.portside("doctor", "127.0.0.1:18083", "--json")
    assert (result.status, codes(result)) == (1, ["container-port-mismatch"])
    finding = result.json()["findings"][0]
    assert "nothing listens on 9000 inside the container; inside it listens on 8080" in finding["observed"]
    assert "-p 127.0.0.1:18083:8080" in finding["fix"]


def test_a_stopped_container(docker_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    containers(docker_engine, "sleeper", "127.0.0.1:18084:8080")
    docker_engine.cli("stop", "-t", "0", "sleeper")
    assert listeners(docker_engine.portside("ls", "--json"), 18084) == []
    result = docker_engine.portside("doctor", "127.0.0.1:18084", "--json")
    assert (result.status, codes(result)) == (1, ["container-stopped"])
    finding = result.json()["findings"][0]
    assert "docker container sleeper (local/bb:1), which is exited" in finding["observed"]
    assert finding["fix"] == "start it: `docker start sleeper`"


def test_without_the_api_docker_s_state_files_name_the_container(docker_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    cid = containers(docker_engine, "fallback", "127.0.0.1:18085:8080")
    result = docker_engine.portside("ls", "--json", api=False)
    container = only(result, 18085)["container"]
    assert (container["id"], container["name"], container["image"], container["source"]) == (
        cid, "fallback", "local/bb:1", "state-file")
    assert any("containers named without the engine API, from Docker's state files" in n
               for n in result.json()["notes"])


def test_kill_never_signals_docker_proxy_and_container_stops_it(docker_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    containers(docker_engine, "victim", "127.0.0.1:18088:8080")
    (proxy,) = only(docker_engine.portside("ls", "--json"), 18088)["processes"]
    refused = docker_engine.portside("kill", "18088", "--yes")
    assert refused.status == 1 and refused.stdout == ""
    assert "port 18088 is published by docker container victim (local/bb:1)" in refused.stderr
    assert "`docker stop victim`, or rerun with --container" in refused.stderr
    document = docker_engine.portside("kill", "18088", "--json")
    assert document.status == 1 and document.stderr.startswith("portside: port 18088 is published by")
    assert (document.json()["signalled"], document.json()["freed"]) == ([], False)
    assert [c["name"] for c in document.json()["containers"]] == ["victim"]
    assert alive(proxy["pid"]) and "victim" in docker_engine.cli("ps", "--filter", "status=running")
    assert only(docker_engine.portside("ls", "--json"), 18088)["container"]["state"] == "running"
    dry = docker_engine.portside("kill", "18088", "--container", "--dry-run")
    assert dry.status == 0 and dry.stdout == "would stop docker container victim (local/bb:1) through docker's API\n"
    # on a terminal it asks first: no leaves the container running
    declined = on_a_terminal(docker_engine, "n\n", "kill", "18088", "--container")
    assert "stop through the engine's API:\n  docker container victim (local/bb:1)\nproceed? [y/N]" in declined.stdout
    assert declined.status == 1 and "nothing signalled or stopped" in declined.stdout
    assert "victim" in docker_engine.cli("ps", "--filter", "status=running")
    stopped = docker_engine.portside("kill", "18088", "--container", "--timeout", "1s", "--json")
    assert stopped.status == 0, stopped.stderr
    report = stopped.json()
    assert report["freed"] and report["victims"] == [] and report["signalled"] == []
    assert [c["name"] for c in report["containers"]] == ["victim"]
    assert "victim" not in docker_engine.cli("ps", "--filter", "status=running")
    assert not alive(proxy["pid"])
    assert listeners(docker_engine.portside("ls", "--json"), 18088) == []


def test_a_non_root_caller_sees_the_container_through_cgroups(docker_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    cid = containers(docker_engine, "seen", "127.0.0.1:18089:8080")
    result = docker_engine.portside("ls", "--json", user=NOBODY)
    row = only(result, 18089)
    assert row["processes"] == []
    container = row["container"]
    assert (container["engine"], container["id"], container["stand_in"], container["source"]) == (
        "docker", cid, "docker-proxy", "cgroup")
    assert container["container_port"] == 8080 and container["inside"] == ["::"]
    notes = result.json()["notes"]
    assert any("the engine API could not be used" in n and "Permission denied" in n for n in notes)
    namespaces = docker_engine.portside("ls", "--namespaces", "--json", user=NOBODY)
    assert namespaces.status == 0 and "Traceback" not in namespaces.stderr
    assert any("network namespaces could not be read" in n and "run as root" in n
               for n in namespaces.json()["notes"])


@pytest.mark.parametrize(("reply", "said"), [
    (b"\x00\x01garbage that is not HTTP\r\n\r\n", "the reply is not HTTP"),
    (b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{not json", "the reply is not JSON"),
    (None, "did not answer GET /containers/json within 0.5 s"),
], ids=["garbage", "bad-json", "hangs"])
def test_an_engine_socket_that_answers_garbage_or_never(docker_engine: Docker, containers, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        reply: bytes | None, said: str) -> None:
    containers(docker_engine, "beside", "127.0.0.1:18079:8080")
    path = tmp_path / "fake.sock"
    fake = FakeEngine(path, reply)
    try:
        result = docker_engine.portside("ls", "--json", env={**docker_engine.env(api=False),
                                                             "DOCKER_HOST": f"unix://{path}"})
    finally:
        fake.close()
    assert result.status == 0 and "Traceback" not in result.stderr
    assert result.seconds < 5, result.seconds
    notes = result.json()["notes"]
    assert any(note.startswith(f"the engine API could not be used: {path}") and said in note for note in notes), notes
    # the fallbacks still name the container
    assert only(result, 18079)["container"]["name"] == "beside"


# Docker with userland-proxy=false: dockerd holds the port, DNAT carries the traffic


def test_userland_proxy_off(docker_dnat_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    cid = containers(docker_dnat_engine, "direct", "127.0.0.1:18090:8080")
    row = only(docker_dnat_engine.portside("ls", "--json"), 18090)
    assert [p["name"] for p in row["processes"]] == ["dockerd"]
    assert (row["container"]["id"], row["container"]["stand_in"], row["container"]["source"]) == (
        cid, "dockerd", "api")
    dockerd = row["processes"][0]["pid"]
    refused = docker_dnat_engine.portside("kill", "18090", "--yes")
    assert refused.status == 1 and "held by dockerd" in refused.stderr and "`docker stop direct`" in refused.stderr
    assert alive(dockerd) and "direct" in docker_dnat_engine.cli("ps")
    result = docker_dnat_engine.portside("doctor", "http://127.0.0.1:18090/", "--json")
    assert (result.status, codes(result)) == (0, ["ok"])
    containers(docker_dnat_engine, "direct-inner", "127.0.0.1:18091:8080", *httpd(8080, "127.0.0.1"))
    inner = docker_dnat_engine.portside("doctor", "127.0.0.1:18091", "--json")
    assert (inner.status, codes(inner)) == (1, ["container-loopback"])


def test_userland_proxy_off_without_the_api(docker_dnat_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    cid = containers(docker_dnat_engine, "direct2", "18092:8080")
    container = only(docker_dnat_engine.portside("ls", "--json", api=False), 18092)["container"]
    assert (container["id"], container["name"], container["source"], container["container_port"]) == (
        cid, "direct2", "state-file", 8080)


def _forward(engine: Engine, port: int, cid: str) -> None:
    """A DNAT rule alone for `port`, as engines without port reservation write it (CNI portmap, netavark)."""
    address = engine.cli("inspect", "-f", "{{.NetworkSettings.IPAddress}}", cid).strip()
    subprocess.run(engine.inside("nft", "add", "rule", "ip", "nat", "DOCKER", "ip", "daddr", "127.0.0.1", "tcp",
                                 "dport", str(port), "dnat", "to", f"{address}:8080"), check=True)


def test_a_port_that_is_only_a_dnat_rule(docker_dnat_engine: Docker, containers) -> None:  # type: ignore[no-untyped-def]
    healthy = containers(docker_dnat_engine, "ruled", "127.0.0.1:18093:8080")
    inner = containers(docker_dnat_engine, "ruled-inner", "127.0.0.1:18095:8080", *httpd(8080, "127.0.0.1"))
    _forward(docker_dnat_engine, 18094, healthy)
    _forward(docker_dnat_engine, 18096, inner)
    result = docker_dnat_engine.portside("ls", "--json", api=False)
    row = only(result, 18094)
    assert (row["address"], row["processes"], row["inodes"]) == ("127.0.0.1", [], [])
    assert row["note"].startswith("no socket: docker forwards this port to the container by a DNAT rule alone")
    assert (row["container"]["id"], row["container"]["stand_in"], row["container"]["source"]) == (
        healthy, None, "cgroup")
    plain = docker_dnat_engine.portside("ls", "--port", "18094", api=False)
    assert "(DNAT only)" in plain.stdout
    ok = docker_dnat_engine.portside("doctor", "http://127.0.0.1:18094/", "--json", api=False)
    assert (ok.status, codes(ok)) == (0, ["ok"])
    refused = docker_dnat_engine.portside("doctor", "127.0.0.1:18096", "--json", api=False)
    assert (refused.status, codes(refused)) == (1, ["container-loopback"])
    assert "the published port refused the connection" in refused.json()["findings"][0]["observed"]


# Podman: conmon reserves the port (CNI's DNAT carries it); rootlessport with slirp4netns


def test_podman_conmon(podman_engine: Podman, containers) -> None:  # type: ignore[no-untyped-def]
    cid = containers(podman_engine, "pweb", "127.0.0.1:18100:8080")
    row = only(podman_engine.portside("ls", "--json"), 18100)
    assert [p["name"] for p in row["processes"]] == ["conmon"]
    container = row["container"]
    assert {key: container[key] for key in ("engine", "id", "name", "image", "container_port", "stand_in", "source",
                                            "inside")} == {
        "engine": "podman", "id": cid, "name": "pweb", "image": "localhost/local/bb:1", "container_port": 8080,
        "stand_in": "conmon", "source": "api", "inside": ["::"]}
    # without the API: conmon's argv names it, the DNAT rule gives its port and address
    fallback = podman_engine.portside("ls", "--json", api=False)
    container = only(fallback, 18100)["container"]
    assert (container["id"], container["name"], container["image"], container["container_port"],
            container["source"]) == (cid, "pweb", None, 8080, "argv")
    assert container["container_address"].startswith("10.88.")
    assert ("containers named without the engine API, from the stand-in's argv; without it, the name, image or "
            "port inside is not known for pweb") in fallback.json()["notes"]
    conmon = row["processes"][0]["pid"]
    refused = podman_engine.portside("kill", "18100", "--yes")
    assert refused.status == 1 and "`podman stop pweb`" in refused.stderr
    assert alive(conmon) and "pweb" in podman_engine.cli("ps")
    doctor = podman_engine.portside("doctor", "http://127.0.0.1:18100/", "--json")
    assert (doctor.status, codes(doctor)) == (0, ["ok"])


def test_podman_rootlessport(podman_engine: Podman, containers) -> None:  # type: ignore[no-untyped-def]
    cid = containers(podman_engine, "pslirp", "127.0.0.1:18101:8080", network="slirp4netns")
    row = only(podman_engine.portside("ls", "--json"), 18101)
    assert [p["name"] for p in row["processes"]] == ["rootlessport"]
    assert (row["container"]["id"], row["container"]["name"], row["container"]["stand_in"]) == (
        cid, "pslirp", "rootlessport")
    container = only(podman_engine.portside("ls", "--json", api=False), 18101)["container"]
    assert (container["id"], container["source"], container["stand_in"]) == (cid, "cgroup", "rootlessport")
    who = podman_engine.portside("who", "18101")
    assert "container: podman container pslirp (localhost/local/bb:1)" in who.stdout


def test_podman_published_wide_to_a_loopback_service_and_stopped(podman_engine: Podman, containers) -> None:  # type: ignore[no-untyped-def]
    containers(podman_engine, "pinner", "18102:8080", *httpd(8080, "127.0.0.1"))
    rows = listeners(podman_engine.portside("ls", "--json"), 18102)
    assert rows and all(row["container"]["name"] == "pinner" and row["exposure"] == "all" for row in rows)
    result = podman_engine.portside("doctor", "127.0.0.1:18102", "--json")
    assert (result.status, codes(result)) == (1, ["container-loopback", "published-wide"])
    assert "podman container pinner (localhost/local/bb:1)" in result.json()["findings"][0]["observed"]
    containers(podman_engine, "pstopped", "127.0.0.1:18103:8080")
    podman_engine.cli("stop", "-t", "0", "pstopped")
    stopped = podman_engine.portside("doctor", "127.0.0.1:18103", "--json")
    assert (stopped.status, codes(stopped)) == (1, ["container-stopped"])
    assert stopped.json()["findings"][0]["fix"] == "start it: `podman start pstopped`"


def test_podman_as_a_non_root_caller(podman_engine: Podman, containers) -> None:  # type: ignore[no-untyped-def]
    """Rootful Podman's conmon names no port, and its fds, API and nat rules are root's: the port stays unnamed,
    and the note says which stand-in holds a port that could not be told."""
    containers(podman_engine, "pseen", "127.0.0.1:18104:8080")
    result = podman_engine.portside("ls", "--json", user=NOBODY)
    row = only(result, 18104)
    assert (row["processes"], row["container"]) == ([], None)
    (note,) = [n for n in result.json()["notes"] if n.startswith("containers' ports could not be told")]
    assert "conmon (pid " in note and "container pseen)" in note
