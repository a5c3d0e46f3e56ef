"""Target parsing and address classification: tables of tricky inputs, plus properties."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.errors import PortsideError, TargetError
from portside.inventory.match import accepts
from portside.model import Exposure, Family, Listener, Protocol
from portside.net.addresses import (
    AddressKind,
    Target,
    classify,
    dialled_as,
    host_port,
    ip_of,
    parse_target,
    scoped,
    zone_of,
)
from portside.net.resolve import dial_addresses, sockaddr

GOOD = [
    ("62893", Target(62893)),
    (":62893", Target(62893)),
    (" 8080 ", Target(8080)),
    ("127.0.0.1:62893", Target(62893, "127.0.0.1")),
    ("[::1]:62893", Target(62893, "::1")),
    ("[::]:80", Target(80, "::")),
    ("localhost:62893", Target(62893, "localhost")),
    ("LocalHost:3000", Target(3000, "localhost")),
    ("api.localhost:3000", Target(3000, "api.localhost")),
    ("http://localhost:62893/x", Target(62893, "localhost", "http", "/x")),
    ("http://api.localhost/x?y#z", Target(80, "api.localhost", "http", "/x?y")),
    ("http://api.localhost?q=1", Target(80, "api.localhost", "http", "/?q=1")),
    ("https://[::1]/", Target(443, "::1", "https")),
    ("HTTPS://user@example.test:8443/", Target(8443, "example.test", "https")),
    ("ws://localhost:9000", Target(9000, "localhost", "ws")),
    ("65535", Target(65535)),
    ("1", Target(1)),
    ("[fe80::5%eth0]:8080", Target(8080, "fe80::5%eth0")),
    ("[fe80::5%2]:8080", Target(8080, "fe80::5%2")),
    ("[FE80::5%veth0.100]:80", Target(80, "fe80::5%veth0.100")),
    ("http://[fe80::5%25eth0]:8080/x", Target(8080, "fe80::5%eth0", "http", "/x")),
    ("http://[fe80::5%eth0]/", Target(80, "fe80::5%eth0", "http")),
]

BAD = [
    ("0", "out of range"),
    ("65536", "out of range"),
    ("-1", "not a number"),
    ("abc", "no port given"),
    ("[::1", "unclosed '['"),
    ("1.2.3.4.5:80", "not a valid IPv4 address"),
    ("", "empty target"),
    ("   ", "empty target"),
    ("::1:80", "needs brackets"),
    ("127.0.0.1:", "port is missing"),
    ("127.0.0.1:http", "not a number"),
    ("[127.0.0.1]:80", "only IPv6"),
    ("[::1]80", "expected ':PORT'"),
    ("ftp://localhost:21", "unsupported scheme"),
    ("http://", "no host"),
    ("bad_-.name:80", "not a valid host name"),
    ("-host:80", "not a number"),
    ("１２３", "not a number"),
    ("[fe80::5%a b]:80", "zone 'a b' is not an interface name or index"),
    ("[fe80::5%0123456789abcdef]:80", "is not an interface name or index"),
    ("[fe80::5%eth/0]:80", "not a valid IPv6 address"),
    ("[fe80::5%eth:0]:80", "is not an interface name or index"),
    ("[fe80::5%]:80", "not a valid IPv6 address"),
    ("fe80::5%eth0:80", "needs brackets"),
    ("127.0.0.1%eth0:80", "not a valid host name"),
]


@pytest.mark.parametrize("text, expected", GOOD)
def test_parse_good(text: str, expected: Target) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize("text, reason", BAD)
def test_parse_bad(text: str, reason: str) -> None:
    with pytest.raises(TargetError) as caught:
        parse_target(text)
    assert reason in str(caught.value)
    assert caught.value.text == text
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", AddressKind.LOOPBACK),
        ("127.255.0.9", AddressKind.LOOPBACK),
        ("::1", AddressKind.LOOPBACK),
        ("::ffff:127.0.0.1", AddressKind.LOOPBACK),
        ("0.0.0.0", AddressKind.WILDCARD),
        ("::", AddressKind.WILDCARD),
        ("fe80::1%eth0", AddressKind.LINK_LOCAL),
        ("169.254.1.1", AddressKind.LINK_LOCAL),
        ("192.168.1.4", AddressKind.PRIVATE),
        ("fd00::2", AddressKind.PRIVATE),
        ("8.8.8.8", AddressKind.PUBLIC),
    ],
)
def test_classify(address: str, kind: AddressKind) -> None:
    assert classify(address) is kind


@given(st.integers(min_value=1, max_value=65535))
def test_every_valid_port_parses_in_every_form(port: int) -> None:
    for text in (str(port), f":{port}", f"127.0.0.1:{port}", f"[::1]:{port}", f"localhost:{port}", f"http://localhost:{port}/"):
        assert parse_target(text).port == port


@given(st.integers().filter(lambda n: not 1 <= n <= 65535))
def test_out_of_range_ports_are_refused(port: int) -> None:
    with pytest.raises(TargetError):
        parse_target(f"127.0.0.1:{port}")


@given(st.ip_addresses(), st.integers(min_value=1, max_value=65535))
def test_any_address_round_trips(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> None:
    target = parse_target(host_port(str(ip), port))
    assert target.port == port
    assert target.address == str(ip)


@pytest.mark.parametrize(
    "host, text",
    [("127.0.0.1", "127.0.0.1:80"), ("::1", "[::1]:80"), ("fe80::1%eth0", "[fe80::1%eth0]:80"),
     ("localhost", "localhost:80"), ("api.localhost", "api.localhost:80")],
)
def test_host_port(host: str, text: str) -> None:
    assert host_port(host, 80) == text


@pytest.mark.parametrize(
    "address, ip",
    [("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("::ffff:127.0.0.1", "127.0.0.1"), ("::ffff:0.0.0.0", "0.0.0.0"),
     ("fe80::1%eth0", "fe80::1"), ("::", "::")],
)
def test_ip_of(address: str, ip: str) -> None:
    assert ip_of(address) == ipaddress.ip_address(ip)


def _listener(address: str, dual_stack: bool) -> Listener:
    family = Family.IPV6 if ":" in address else Family.IPV4
    return Listener(Protocol.TCP, family, address, 80, dual_stack, Exposure.ALL, (), (), (1,))


@pytest.mark.parametrize(
    "bound, dual_stack, dialled, reached",
    [
        ("0.0.0.0", False, "127.0.0.1", True),
        ("0.0.0.0", False, "::1", False),
        ("::", False, "127.0.0.1", False),
        ("::", True, "127.0.0.1", True),
        ("::", True, "::1", True),
        ("::ffff:127.0.0.1", True, "127.0.0.1", True),
        ("127.0.0.1", False, "::ffff:127.0.0.1", True),
        ("::ffff:0.0.0.0", True, "192.0.2.1", True),
        ("::ffff:0.0.0.0", True, "::1", False),
        ("127.0.0.1", False, "127.0.0.2", False),
        # a scoped address reaches its own zone only; one without a zone is not told apart
        ("fe80::5%eth0", False, "fe80::5%eth0", True),
        ("fe80::5%eth0", False, "fe80::5%eth1", False),
        ("fe80::5%eth0", False, "fe80::5", True),
        ("fe80::5", False, "fe80::5%eth0", True),
        ("::", False, "fe80::5%eth0", True),
    ],
)
def test_accepts_counts_ipv4_mapped_as_ipv4(bound: str, dual_stack: bool, dialled: str, reached: bool) -> None:
    assert accepts(_listener(bound, dual_stack), dialled) is reached


ZONES = st.from_regex(r"[A-Za-z0-9._-]{1,15}", fullmatch=True)


@given(st.ip_addresses(network="fe80::/10"), ZONES, st.integers(min_value=1, max_value=65535))
def test_any_scoped_address_round_trips_in_every_form(ip: ipaddress.IPv6Address, zone: str, port: int) -> None:
    address = f"{ip}%{zone}"
    assert parse_target(host_port(address, port)) == Target(port, address)
    assert parse_target(f"http://[{ip}%25{zone}]:{port}/").address == address
    assert zone_of(address) == zone and scoped(str(ip), zone) == address and dialled_as(address) == address


@pytest.mark.parametrize(("address", "zone", "shown"), [
    ("fe80::1", "eth0", "fe80::1%eth0"), ("febf::1", "eth0", "febf::1%eth0"), ("fec0::1", "eth0", "fec0::1"),
    ("fd00::2", "eth0", "fd00::2"), ("169.254.1.1", "eth0", "169.254.1.1"), ("fe80::1%eth1", "eth0", "fe80::1%eth1"),
])
def test_only_link_local_ipv6_gets_a_zone(address: str, zone: str, shown: str) -> None:
    assert scoped(address, zone) == shown


@pytest.mark.parametrize(("bound", "dialled"), [
    ("::ffff:127.0.0.1", "127.0.0.1"), ("::ffff:0.0.0.0", "0.0.0.0"), ("::FFFF:198.51.100.7", "198.51.100.7"),
    ("::1", "::1"), ("127.0.0.1", "127.0.0.1"), ("fe80::1%eth0", "fe80::1%eth0"),
])
def test_a_mapped_address_is_dialled_as_its_ipv4_address(bound: str, dialled: str) -> None:
    assert dialled_as(bound) == dialled


@pytest.mark.parametrize(("address", "expected"), [
    ("127.0.0.1", ("127.0.0.1", 80)), ("::1", ("::1", 80)), ("fe80::1%7", ("fe80::1", 80, 0, 7)),
])
def test_sockaddr_carries_a_zone_as_the_scope_id(address: str, expected: tuple[object, ...]) -> None:
    """Python's connect(("fe80::1%eth0", port)) drops the zone and fails (EINVAL): the scope id must be given."""
    assert sockaddr(address, 80) == expected


def test_a_link_local_target_without_its_zone_cannot_be_dialled() -> None:
    assert dial_addresses(parse_target("[fe80::5%eth0]:80")) == ("fe80::5%eth0",)
    with pytest.raises(TargetError, match=r"fe80::5 is link-local: name its interface, e.g. \[fe80::5%eth0\]:80"):
        dial_addresses(parse_target("[fe80::5]:80"))


@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_raises_target_error(text: str) -> None:
    try:
        target = parse_target(text)
    except PortsideError as error:
        assert isinstance(error, TargetError)
    else:
        assert 1 <= target.port <= 65535
