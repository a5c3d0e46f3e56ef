"""The pure parts of allocation: ranges, the kernel's sysctl texts, the pool, durations, names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.errors import PortsideError, UsageError
from portside.leasing.pool import (
    IANA_DYNAMIC,
    EmptyPool,
    KernelPorts,
    PortRange,
    parse_local_port_range,
    parse_range,
    parse_reserved_ports,
    pool,
)
from portside.net.durations import parse_duration
from portside.net.names import parse_name

LINUX_DEFAULT = KernelPorts(PortRange(32768, 60999), frozenset())


def test_default_pool_is_iana_minus_the_kernel_range() -> None:
    ports = pool(IANA_DYNAMIC, LINUX_DEFAULT)
    assert ports == tuple(range(61000, 65536))


def test_reserved_ports_are_left_out() -> None:
    kernel = KernelPorts(PortRange(32768, 60999), frozenset({61000, 61001, 65535}))
    ports = pool(IANA_DYNAMIC, kernel)
    assert ports[0] == 61002 and ports[-1] == 65534 and 61001 not in ports


ports_ = st.integers(1, 65535)


@given(ports_, ports_, ports_, ports_, st.frozensets(ports_, max_size=20))
def test_pool_is_the_range_minus_the_kernels_ports(a: int, b: int, c: int, d: int, reserved: frozenset[int]) -> None:
    requested, ephemeral = PortRange(min(a, b), max(a, b)), PortRange(min(c, d), max(c, d))
    kernel = KernelPorts(ephemeral, reserved)
    wanted = tuple(p for p in range(requested.low, requested.high + 1) if p not in ephemeral and p not in reserved)
    try:
        assert pool(requested, kernel) == wanted
    except EmptyPool:
        assert wanted == ()


def test_range_inside_the_ephemeral_range_is_empty_and_says_why() -> None:
    with pytest.raises(EmptyPool, match=r"inside the kernel's ephemeral range 32768-60999"):
        pool(PortRange(40000, 40100), LINUX_DEFAULT)


def test_range_eaten_by_reserved_and_ephemeral_says_both() -> None:
    kernel = KernelPorts(PortRange(32768, 60999), frozenset({61000}))
    with pytest.raises(EmptyPool, match="ip_local_reserved_ports"):
        pool(PortRange(60999, 61000), kernel)


@pytest.mark.parametrize(("text", "expected"), [
    ("61000-61999", PortRange(61000, 61999)),
    (" 1 - 65535 ", PortRange(1, 65535)),
    ("62000", PortRange(62000, 62000)),
])
def test_parse_range_good(text: str, expected: PortRange) -> None:
    assert parse_range(text) == expected


@pytest.mark.parametrize(("text", "reason"), [
    ("", "expected LO-HI"),
    ("70000-80000", "out of range"),
    ("0-10", "out of range"),
    ("5-3", "is above"),
    ("abc", "not a port number"),
    ("1-2-3", "not a port number"),
    ("61000-", "not a port number"),
    ("-61000", "not a port number"),
])
def test_parse_range_bad(text: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        parse_range(text)


@given(st.integers(1, 65535), st.integers(1, 65535))
def test_parse_range_round_trips(a: int, b: int) -> None:
    wanted = PortRange(min(a, b), max(a, b))
    assert parse_range(str(wanted)) == wanted


@given(st.text(max_size=20))
def test_parse_range_raises_only_usage_errors(text: str) -> None:
    try:
        parsed = parse_range(text)
    except UsageError:
        return
    assert 1 <= parsed.low <= parsed.high <= 65535


@given(st.lists(st.tuples(st.integers(1, 65535), st.integers(0, 50)), max_size=8))
def test_parse_reserved_ports_round_trips(spans: list[tuple[int, int]]) -> None:
    expected: set[int] = set()
    items = []
    for low, width in spans:
        high = min(65535, low + width)
        expected.update(range(low, high + 1))
        items.append(f"{low}-{high}" if high > low else str(low))
    assert parse_reserved_ports(",".join(items) + "\n") == expected


def test_parse_sysctl_texts() -> None:
    assert parse_local_port_range("32768\t60999\n") == PortRange(32768, 60999)
    assert parse_reserved_ports("\n") == frozenset()
    assert parse_reserved_ports("8080,9000-9002\n") == {8080, 9000, 9001, 9002}
    with pytest.raises(ValueError):
        parse_local_port_range("32768")


@pytest.mark.parametrize(("text", "seconds"), [
    ("30", 30.0), ("0.5s", 0.5), ("250ms", 0.25), ("10m", 600.0), ("2h", 7200.0), ("1d", 86400.0), ("0", 0.0),
])
def test_parse_duration_good(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "-1", "+5", "1x", "inf", "nan", "ms", "10 m s",
                                  "1e-400", "5e-324ms", "1e308d", "36501d", "1e400"])
def test_parse_duration_bad(text: str) -> None:
    with pytest.raises(UsageError, match="invalid --ttl"):
        parse_duration(text, "--ttl")


# Subnormal values are left out: the smallest of them scaled by ms is 0, refused above.
@given(st.floats(0, 1e4, allow_nan=False, allow_subnormal=False), st.sampled_from(["ms", "s", "m", "h", "d", ""]))
def test_parse_duration_round_trips(value: float, unit: str) -> None:
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "": 1}[unit]
    assert parse_duration(f"{value!r}{unit}") == pytest.approx(value * scale)


@pytest.mark.parametrize(("text", "reason"), [
    ("1e-400", "too small to tell from 0"), ("5e-324ms", "too small to tell from 0"), ("36501d", "more than 100 years"),
])
def test_parse_duration_says_why(text: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        parse_duration(text, "--timeout")


@pytest.mark.parametrize("text", ["0", "0s", "0.0ms", "0e-400", "00"])
def test_zero_stays_zero(text: str) -> None:
    assert parse_duration(text) == 0


@given(st.text(max_size=12))
def test_parse_duration_raises_only_usage_errors(text: str) -> None:
    try:
        assert parse_duration(text) >= 0
    except UsageError:
        pass


@pytest.mark.parametrize(("text", "name"), [("api", "api"), ("API", "api"), ("web.shop", "web.shop"), ("a-1", "a-1")])
def test_parse_name_good(text: str, name: str) -> None:
    assert parse_name(text) == name


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"), ("123", "all digits"), ("bad_name", "DNS label"), ("-x", "starts or ends"),
    ("a..b", "empty label"), ("x" * 64, "longer than 63"), ("ünï", "DNS label"),
])
def test_parse_name_bad(text: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        parse_name(text)


@given(st.text(max_size=80))
def test_parse_name_raises_only_usage_errors(text: str) -> None:
    try:
        name = parse_name(text)
    except PortsideError as error:
        assert isinstance(error, UsageError)
        return
    assert name == parse_name(name)
