"""The inventory's kernel readers against this machine's own kernel: sock_diag, rtnetlink, /proc/net/tcp.

The decoders are tested with synthetic bytes in tests/unit/; here they read the live kernel,
compared with its text tables, around a listener this test opens.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess

import pytest

from portside.inventory import _netlink as netlink
from portside.inventory._namespaces import parse_net_tcp
from portside.model import Protocol
from portside.net.netlink import TCP_ESTABLISHED, TCP_LISTEN
from portside.net.sockdiag import Found, SockDiag


def test_live_dump_matches_proc_net_tcp() -> None:
    """The kernel's own text table lists the same listening inodes and ports."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        decoded = {(s.local.port, s.inode) for s in netlink.sockets(socket.AF_INET, Protocol.TCP, 1 << netlink.TCP_LISTEN)}
        with open("/proc/net/tcp") as table:
            rows = [line.split() for line in table.readlines()[1:]]
        proc = {(int(r[1].split(":")[1], 16), int(r[9])) for r in rows if r[3] == "0A"}
    assert any(p == port for p, _ in decoded)
    assert decoded == proc


def test_live_interface_addresses_include_loopback() -> None:
    found = netlink.interface_addresses()
    assert any(a.address == "127.0.0.1" and a.label == "lo" for a in found)
    assert any(a.address == "::1" for a in found)


def test_proc_net_tcp_of_this_machine_matches_a_real_listener() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    with server, open("/proc/net/tcp", "rb") as table:
        assert ("127.0.0.1", server.getsockname()[1]) in list(parse_net_tcp(table.read()))


def test_live_local_routes_match_ip_route_show_table_local() -> None:
    """The routes the kernel delivers here, as `ip route show table local` lists them (multicast left out)."""
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2")
    listed = set()
    for family in ("-4", "-6"):
        out = subprocess.run(["ip", family, "-j", "route", "show", "table", "local"], capture_output=True, text=True,
                             check=True).stdout
        for route in json.loads(out or "[]"):
            if route.get("type") in ("local", "broadcast", "anycast"):
                dst = route["dst"] if "/" in route["dst"] else f"{route['dst']}/{32 if family == '-4' else 128}"
                listed.add((str(ipaddress.ip_network(dst)), socket.if_nametoindex(route["dev"])))
    decoded = {(str(route.network), route.if_index) for route in netlink.local_routes()}
    assert ("127.0.0.0/8", socket.if_nametoindex("lo")) in decoded
    assert decoded == listed


def listeners_with_the_other_family_bound() -> tuple[socket.socket, socket.socket, list[socket.socket]]:
    """A listener on 127.0.0.1 and one on ::1, each port also bound (not listening) on the other address."""
    for _ in range(50):
        made: list[socket.socket] = []
        try:
            only4 = socket.create_server(("127.0.0.1", 0))
            made.append(only4)
            only6 = socket.create_server(("::1", 0), family=socket.AF_INET6)
            made.append(only6)
            for family, address, port in ((socket.AF_INET6, "::1", only4.getsockname()[1]),
                                          (socket.AF_INET, "127.0.0.1", only6.getsockname()[1])):
                blocker = socket.socket(family)
                made.append(blocker)
                blocker.bind((address, port))
            return only4, only6, made[2:]
        except OSError:
            for sock in made:
                sock.close()
    raise AssertionError("no pair of ports free on both loopback addresses")


def test_sock_diag_finds_the_listener_a_connect_would_reach() -> None:
    """Exact lookups (net/sockdiag.py, what `wait` asks before it dials loopback) against real sockets."""
    diag = SockDiag()
    opened: list[socket.socket] = []
    try:
        only4, only6, blockers = listeners_with_the_other_family_bound()
        opened += [only4, only6, *blockers]  # each port bound, not listening, in the other family: no one else's
        port4, port6 = only4.getsockname()[1], only6.getsockname()[1]
        found = diag.ask([diag.request("127.0.0.1", port4), diag.request("::1", port4),
                          diag.request("127.0.0.1", port6), diag.request("::1", port6, interface=1)])
        inode4, inode6 = (os.fstat(sock.fileno()).st_ino for sock in (only4, only6))
        assert found == [Found(TCP_LISTEN, inode4), None, None, Found(TCP_LISTEN, inode6)]
        client = socket.create_connection(("127.0.0.1", port4))
        opened.append(client)
        served = diag.server_side(("127.0.0.1", port4), client.getsockname())
        assert served == Found(TCP_ESTABLISHED, 0)  # in the accept queue: no process holds it yet
        accepted, _ = only4.accept()
        opened.append(accepted)
        served = diag.server_side(("127.0.0.1", port4), client.getsockname())
        assert served == Found(TCP_ESTABLISHED, os.fstat(accepted.fileno()).st_ino)
        only4.close()
        assert diag.listener("127.0.0.1", port4) is None
    finally:
        for sock in opened:
            sock.close()
        diag.close()


def test_repeated_lookups_see_a_listener_come_and_go() -> None:
    """`wait`'s rounds (sockdiag.Lookups): the same request bytes asked again answer for the socket of that moment,
    in order, one answer per request."""
    diag = SockDiag()
    try:
        server = socket.create_server(("127.0.0.1", 0))
        port = server.getsockname()[1]
        ours = diag.request("127.0.0.1", port, interface=1)
        lookups = diag.lookups([ours, ours])
        assert lookups.found() == [True, True]
        server.close()  # held by us until now: nothing else listens on 127.0.0.1 at this port
        assert lookups.found() == [False, False]
        assert lookups.found() == [False, False]
    finally:
        diag.close()


def test_hundreds_of_lookups_are_answered_in_order() -> None:
    """Each answer copies its request, so 500 at once would overflow the receive buffer: they go in batches."""
    diag = SockDiag()
    try:
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = server.getsockname()[1]
            ours = diag.request("127.0.0.1", port, interface=1)
            elsewhere = diag.request("127.0.0.2", port, interface=1)  # 127.0.0.1's listener only: never found
            requests = [elsewhere] * 500
            requests[137] = requests[499] = ours
            found = diag.lookups(requests).found()
        assert len(found) == 500 and [at for at, there in enumerate(found) if there] == [137, 499]
    finally:
        diag.close()
