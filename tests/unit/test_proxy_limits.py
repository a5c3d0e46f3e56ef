"""The proxy's limits from PORTSIDE_PROXY_* (router/limits.py): the defaults, each variable, bad values, odd mixes."""

from __future__ import annotations

import pytest

from portside.errors import UsageError
from portside.router.http1 import Reader, Refusal
from portside.router.limits import DEFAULT_LIMITS, Limits, from_environment


def test_nginx_like_defaults() -> None:
    assert from_environment({}) == DEFAULT_LIMITS == Limits(line=8192, head=65536, fields=100, header_timeout=30.0,
                                                           idle_timeout=75.0)
    assert from_environment({"PORTSIDE_PROXY_MAX_LINE": "  "}) == DEFAULT_LIMITS, "empty means unset"


SETTINGS = {
    "line": ({"PORTSIDE_PROXY_MAX_LINE": "16384"}, DEFAULT_LIMITS._replace(line=16384)),
    "head": ({"PORTSIDE_PROXY_MAX_HEAD": " 1048576 "}, DEFAULT_LIMITS._replace(head=1048576)),
    "fields": ({"PORTSIDE_PROXY_MAX_HEADERS": "20"}, DEFAULT_LIMITS._replace(fields=20)),
    "header-timeout": ({"PORTSIDE_PROXY_HEADER_TIMEOUT": "250ms"}, DEFAULT_LIMITS._replace(header_timeout=0.25)),
    "idle-timeout": ({"PORTSIDE_PROXY_IDLE_TIMEOUT": "2m"}, DEFAULT_LIMITS._replace(idle_timeout=120.0)),
    "bare-seconds": ({"PORTSIDE_PROXY_IDLE_TIMEOUT": "5"}, DEFAULT_LIMITS._replace(idle_timeout=5.0)),
}


@pytest.mark.parametrize(("environ", "expected"), SETTINGS.values(), ids=SETTINGS.keys())
def test_each_variable(environ: dict[str, str], expected: Limits) -> None:
    assert from_environment(environ) == expected


BAD = [("PORTSIDE_PROXY_MAX_LINE", "8k"), ("PORTSIDE_PROXY_MAX_LINE", "0"), ("PORTSIDE_PROXY_MAX_HEAD", "-1"),
       ("PORTSIDE_PROXY_MAX_HEADERS", "1.5"), ("PORTSIDE_PROXY_MAX_HEADERS", "١٠"),
       ("PORTSIDE_PROXY_HEADER_TIMEOUT", "soon"), ("PORTSIDE_PROXY_HEADER_TIMEOUT", "0s"),
       ("PORTSIDE_PROXY_IDLE_TIMEOUT", "-5s"), ("PORTSIDE_PROXY_IDLE_TIMEOUT", "inf")]


@pytest.mark.parametrize(("variable", "value"), BAD)
def test_a_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(UsageError, match=variable) as raised:
        from_environment({variable: value})
    assert repr(value) in str(raised.value) and "\n" not in str(raised.value)


def test_a_head_limit_below_the_line_limit_still_holds() -> None:
    reader = Reader(response=False, limits=Limits(line=8192, head=100))
    (refusal,) = reader.feed(b"GET / HTTP/1.1\r\n" + b"".join(b"X%d: %s\r\n" % (i, b"a" * 30) for i in range(3)) + b"\r\n")
    assert refusal == Refusal(431, "the request head is larger than 100 bytes")
