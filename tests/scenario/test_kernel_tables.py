"""The inventory's kernel readers against this machine's own kernel: sock_diag, rtnetlink, /proc/net/tcp.

The decoders are tested with synthetic bytes in tests/unit/; here they read the live kernel,
compared with its text tables, around a listener this test opens.
"""

from __future__ import annotations

import socket

from portside.inventory import _netlink as netlink
from portside.inventory._namespaces import parse_net_tcp
from portside.model import Protocol


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
