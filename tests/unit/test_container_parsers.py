"""The containers' pure readers, one table each: stand-ins' argv, cgroups, DNAT rules, namespaces' addresses, dockerd.

Inputs are what this machine's engines printed (Docker 20.10, Podman 4.3 with CNI and slirp4netns), trimmed;
hypothesis checks every reader takes any text without raising.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from records import process

from portside.containers.bindflags import bind_all_hint
from portside.containers.cgroups import container_of
from portside.containers.daemons import data_root
from portside.containers.dnat import DnatRule, parse_iptables_dnat, parse_nft_dnat
from portside.containers.localaddrs import parse_fib_trie, parse_if_inet6
from portside.containers.names import is_engine_bridge, is_stand_in
from portside.containers.standins import StandIn, stand_in
from portside.model import Engine, Family, InterfaceAddress, ProcessInfo

CID = "4defa20fd105c90db8d447cea3828be8f87e58fece9ab75168e4a1d6bf4f5a07"
DID = "90271bf6cfbb361495c61ae8742a1fbfa1beef402a0f669a24381947f4f46ffb"


def running(pid: int, *argv: str) -> ProcessInfo:
    return process(pid, argv[0].rsplit("/", 1)[-1][:15])._replace(cmdline=argv)


PROXY = ("/usr/sbin/docker-proxy", "-proto", "tcp", "-host-ip", "127.0.0.1", "-host-port", "18080", "-container-ip",
         "172.17.0.2", "-container-port", "8080")
CONMON = ("/usr/bin/conmon", "--api-version", "1", "-c", CID, "-u", CID, "-r", "/usr/bin/runc", "-b", "/x/userdata",
          "-p", "/x/pidfile", "-n", "pweb", "--exit-dir", "/x/exits", "--full-attach", "-l", "k8s-file:/x/ctr.log",
          "--log-level", "warning", "--runtime-arg", "--log-format=json", "--exit-command-arg", "--root")


@pytest.mark.parametrize(("info", "expected"), [
    (running(10, *PROXY), StandIn(10, "docker-proxy", Engine.DOCKER, "tcp", "127.0.0.1", 18080, "172.17.0.2", 8080)),
    (running(11, "/usr/sbin/docker-proxy", "-proto", "udp", "-host-ip", "::", "-host-port", "53", "-container-ip",
             "172.17.0.3", "-container-port", "5353"),
     StandIn(11, "docker-proxy", Engine.DOCKER, "udp", "::", 53, "172.17.0.3", 5353)),
    # Go's flag package also takes --flag=value
    (running(12, "docker-proxy", "--host-ip=0.0.0.0", "--host-port=80", "--container-ip=10.0.0.2",
             "--container-port=8000"),
     StandIn(12, "docker-proxy", Engine.DOCKER, "tcp", "0.0.0.0", 80, "10.0.0.2", 8000)),
    # a port that is not one is left unknown
    (running(13, "docker-proxy", "-host-port", "99999", "-container-port", "x"),
     StandIn(13, "docker-proxy", Engine.DOCKER, "tcp")),
    (running(20, *CONMON), StandIn(20, "conmon", Engine.PODMAN, container_id=CID, container_name="pweb")),
    (running(21, "/usr/bin/conmon", "--cid", CID, "--name", "db"),
     StandIn(21, "conmon", Engine.PODMAN, container_id=CID, container_name="db")),
    (running(30, "rootlessport"), StandIn(30, "rootlessport", Engine.PODMAN)),
    # dockerd holds published ports itself when userland-proxy is off; its argv says nothing of them
    (running(40, "/usr/sbin/dockerd", "-H", "unix:///x"), StandIn(40, "dockerd", Engine.DOCKER)),
    (running(41, "python3", "-m", "http.server"), None),
], ids=["docker-proxy", "udp-v6", "equals-form", "bad-ports", "conmon", "conmon-long", "rootlessport", "dockerd",
        "python"])
def test_stand_ins_argv(info: ProcessInfo, expected: StandIn | None) -> None:
    assert stand_in(info) == expected
    assert is_stand_in(info) is (expected is not None)


def test_a_stand_in_is_known_by_its_program_when_renamed() -> None:
    renamed = process(50, "exe")._replace(cmdline=PROXY)
    assert is_stand_in(renamed) and stand_in(renamed) == StandIn(
        50, "docker-proxy", Engine.DOCKER, "tcp", "127.0.0.1", 18080, "172.17.0.2", 8080)


@pytest.mark.parametrize(("name", "bridge"), [
    ("docker0", True), ("podman0", True), ("cni-podman0", True), ("br-23c4f681f40d", True), ("podman12", True),
    ("br-lan", False), ("br0", False), ("docker1x", False), ("eth0", False), ("podman", False),
    ("br-23C4F681F40D", False), ("veth1234", False),
])
def test_engine_bridges_by_name(name: str, bridge: bool) -> None:
    assert is_engine_bridge(InterfaceAddress(Family.IPV4, "172.17.0.1", name, 3)) is bridge


@given(st.lists(st.text(max_size=12), max_size=12))
def test_stand_in_takes_any_argv(argv: list[str]) -> None:
    for name in ("docker-proxy", "conmon", "rootlessport"):
        found = stand_in(process(7, name)._replace(cmdline=(name, *argv)))
        assert found is not None and found.kind == name
        assert found.host_port is None or 0 < found.host_port < 65536


@pytest.mark.parametrize(("text", "expected"), [
    (f"9:name=systemd:/docker/{DID}\n8:pids:/docker/{DID}\n0::/docker/{DID}\n", (Engine.DOCKER, DID)),
    (f"0::/system.slice/docker-{DID}.scope\n", (Engine.DOCKER, DID)),
    (f"9:name=systemd:/libpod_parent/libpod-{CID}\n", (Engine.PODMAN, CID)),
    (f"0::/machine.slice/libpod-{CID}.scope/container\n", (Engine.PODMAN, CID)),
    (f"0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{CID}.scope\n", (Engine.PODMAN, CID)),
    # Docker in Docker: the innermost container
    (f"0::/docker/{DID}/docker/{CID}\n", (Engine.DOCKER, CID)),
    # conmon's own cgroup, and processes outside containers
    (f"0::/libpod_parent/libpod-conmon-{CID}\n", None),
    ("0::/user.slice/user-1000.slice/session-2.scope\n", None),
    ("4:memory:/process_api/ffd7c3cb3ed72bba5dc34b943bef1bd0\n0::/\n", None),
    (f"0::/docker/{DID[:12]}\n", None),
    ("", None),
], ids=["docker-v1", "docker-systemd", "podman-cgroupfs", "podman-systemd", "podman-rootless", "nested",
        "conmon", "session", "sandbox", "short-id", "empty"])
def test_cgroups(text: str, expected: tuple[Engine, str] | None) -> None:
    assert container_of(text) == expected


@given(st.text())
def test_cgroups_take_any_text(text: str) -> None:
    found = container_of(text)
    assert found is None or len(found[1]) == 64


NFT = """table ip nat { # handle 1
\tchain DOCKER { # handle 1
\t\tiifname "docker0" counter packets 0 bytes 0 return # handle 4
\t\tiifname != "docker0" ip daddr 127.0.0.1 tcp dport 18080 counter packets 0 bytes 0 dnat to 172.17.0.2:8080 # handle 15
\t\tiifname != "docker0" meta l4proto tcp tcp dport 18083 counter packets 0 bytes 0 dnat to 172.17.0.3:8080
\t\tiifname != "docker0" udp dport 5353 counter packets 0 bytes 0 dnat to 172.17.0.4
\t}
\tchain POSTROUTING { # handle 2
\t\tip saddr 172.17.0.2 ip daddr 172.17.0.2 tcp dport 8080 counter packets 0 bytes 0 masquerade # handle 16
\t}
\tchain CNI-HOSTPORT-DNAT { # handle 26
\t\tmeta l4proto tcp  tcp dport 18081 counter packets 1 bytes 60 jump CNI-DN-ebea95b8ccff35b6b2787 # handle 33
\t}
\tchain CNI-DN-ebea95b8ccff35b6b2787 { # handle 29
\t\tip saddr 127.0.0.1 ip daddr 127.0.0.1 tcp dport 18081 counter packets 1 bytes 60 jump CNI-HOSTPORT-SETMARK
\t\tip daddr 127.0.0.1 tcp dport 18081 counter packets 1 bytes 60 dnat to 10.88.0.2:8080 # handle 32
\t}
\tchain NETAVARK-DN-1D8721804F16F { # handle 40
\t\tip daddr 0.0.0.0/0 tcp dport 9000 dnat ip to 10.89.0.2:9000
\t}
\tchain custom { # handle 50
\t\tip daddr != 127.0.0.0/8 tcp dport 8443 dnat to 10.0.0.9:443
\t\ttcp dport 2222 dnat to 10.0.0.9:22
\t\ttcp dport { 80, 443 } dnat to 10.0.0.9
\t}
}
table ip6 nat {
\tchain NETAVARK-DN-1D8721804F16F {
\t\tip6 daddr ::1 tcp dport 9000 dnat ip6 to [fd00::2]:9000
\t}
}
"""

IPTABLES = """*nat
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A DOCKER -i docker0 -j RETURN
-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 18080 -j DNAT --to-destination 172.17.0.2:8080
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 18083 -j DNAT --to-destination 172.17.0.3:8080
-A CNI-DN-ebea95b8ccff35b6b2787 -s 127.0.0.1/32 -d 127.0.0.1/32 -p tcp -m tcp --dport 18081 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-ebea95b8ccff35b6b2787 -d 127.0.0.1/32 -p tcp -m tcp --dport 18081 -j DNAT --to-destination 10.88.0.2:8080
-A DOCKER -d 10.0.0.0/8 -p tcp -m tcp --dport 7000 -j DNAT --to-destination 172.17.0.9:7000
-A DOCKER ! -d 127.0.0.0/8 -p tcp -m tcp --dport 7001 -j DNAT --to-destination 172.17.0.9:7001
-A NETAVARK-DN-X -d ::1/128 -p tcp -m tcp --dport 9000 -j DNAT --to-destination [fd00::2]:9000
-A OTHER -p udp --dport 53 -j DNAT --to-destination 10.0.0.53
COMMIT
"""


def test_nft_dnat_rules() -> None:
    assert list(parse_nft_dnat(NFT)) == [
        DnatRule("tcp", "127.0.0.1", 18080, "172.17.0.2", 8080, "DOCKER", Engine.DOCKER),
        DnatRule("tcp", None, 18083, "172.17.0.3", 8080, "DOCKER", Engine.DOCKER),
        DnatRule("udp", None, 5353, "172.17.0.4", 5353, "DOCKER", Engine.DOCKER),
        DnatRule("tcp", "127.0.0.1", 18081, "10.88.0.2", 8080, "CNI-DN-ebea95b8ccff35b6b2787", Engine.PODMAN),
        DnatRule("tcp", None, 9000, "10.89.0.2", 9000, "NETAVARK-DN-1D8721804F16F", Engine.PODMAN),
        DnatRule("tcp", None, 2222, "10.0.0.9", 22, "custom", None),
        DnatRule("tcp", "::1", 9000, "fd00::2", 9000, "NETAVARK-DN-1D8721804F16F", Engine.PODMAN),
    ]


def test_iptables_dnat_rules() -> None:
    assert list(parse_iptables_dnat(IPTABLES)) == [
        DnatRule("tcp", "127.0.0.1", 18080, "172.17.0.2", 8080, "DOCKER", Engine.DOCKER),
        DnatRule("tcp", None, 18083, "172.17.0.3", 8080, "DOCKER", Engine.DOCKER),
        DnatRule("tcp", "127.0.0.1", 18081, "10.88.0.2", 8080, "CNI-DN-ebea95b8ccff35b6b2787", Engine.PODMAN),
        DnatRule("tcp", "::1", 9000, "fd00::2", 9000, "NETAVARK-DN-X", Engine.PODMAN),
        DnatRule("udp", None, 53, "10.0.0.53", 53, "OTHER", None),
    ]


@given(st.text())
def test_dnat_parsers_take_any_text(text: str) -> None:
    for found in (*parse_nft_dnat(text), *parse_iptables_dnat(text)):
        assert 0 < found.port < 65536 and 0 < found.to_port < 65536 and found.protocol in ("tcp", "udp")


FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
     +-- 172.17.0.0/16 2 0 2
        +-- 172.17.0.0/30 2 0 2
           |-- 172.17.0.0
              /16 link UNICAST
           |-- 172.17.0.2
              /32 host LOCAL
        |-- 172.17.255.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
           |-- 172.17.0.2
              /32 host LOCAL
"""
IF_INET6 = """00000000000000000000000000000001 01 80 10 80       lo
fe80000000000000004200fffeac1102 2e 40 20 80     eth0
fd000000000000000000000000000002 2e 40 00 80     eth0
garbage
"""


def test_a_namespace_s_own_addresses() -> None:
    assert parse_fib_trie(FIB_TRIE) == ("172.17.0.2",)
    assert parse_if_inet6(IF_INET6) == ("fd00::2",)
    assert parse_fib_trie("") == () and parse_if_inet6("") == ()


@given(st.text())
def test_address_readers_take_any_text(text: str) -> None:
    assert isinstance(parse_fib_trie(text), tuple) and isinstance(parse_if_inet6(text), tuple)


@pytest.mark.parametrize(("argv", "root"), [
    (("dockerd", "--data-root", "/tmp/d/data", "-H", "unix:///tmp/d.sock"), "/tmp/d/data"),
    (("dockerd", "--data-root=/srv/docker"), "/srv/docker"),
    (("/usr/bin/dockerd", "-g", "/old"), "/old"),
    (("dockerd", "--graph=/older"), "/older"),
    (("dockerd", "-H", "fd://"), "/var/lib/docker"),
    (("dockerd", "--data-root"), "/var/lib/docker"),
])
def test_dockerd_data_root(argv: tuple[str, ...], root: str) -> None:
    assert data_root(argv) == root


@pytest.mark.parametrize(("argv", "hint"), [
    (("busybox", "httpd", "-f", "-p", "127.0.0.1:8080"), "busybox httpd -p 0.0.0.0:8080 (or Listen 0.0.0.0:8080"),
    (("python3", "-m", "http.server", "--bind", "127.0.0.1", "8000"), "python -m http.server --bind 0.0.0.0 8000"),
    (("/usr/local/bin/python", "/app/manage.py", "runserver"), "python manage.py runserver 0.0.0.0:8000"),
    (("node", "/app/node_modules/.bin/vite"), "vite --host 0.0.0.0"),
    (("/usr/local/bin/uvicorn", "main:app"), "uvicorn --host 0.0.0.0"),
    (("redis-server", "127.0.0.1:6379"), "redis-server --bind 0.0.0.0"),
    (("/app/server",), None),
])
def test_bind_all_hints(argv: tuple[str, ...], hint: str | None) -> None:
    found = bind_all_hint(argv, 8080 if "httpd" in argv else 8000)
    assert found == hint if hint is None else found is not None and found.startswith(hint)
