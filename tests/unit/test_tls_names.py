"""Which hosts the local CA makes a leaf for: localhost, NAME.localhost and loopback addresses, nothing else;
and which of them the proxy gives a leaf of their own: names that route, and the dashboard's."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.errors import UsageError
from portside.model import Route, RouteKind
from portside.router.routing import Decision, decide
from portside.router.tls.localca import servable
from portside.router.tls.sni import gets_leaf


@pytest.mark.parametrize(("host", "canonical"), [
    ("localhost", "localhost"),
    ("App.Localhost.", "app.localhost"),
    (" API.app.localhost ", "api.app.localhost"),
    ("127.0.0.2", "127.0.0.2"),
    ("::1", "::1"),
    ("0:0:0:0:0:0:0:1", "::1"),
    ("::ffff:127.0.0.1", "127.0.0.1"),
])
def test_servable_hosts_in_canonical_form(host: str, canonical: str) -> None:
    assert servable(host) == canonical


@pytest.mark.parametrize(("host", "reason"), [
    ("bank.example", "only localhost, NAME.localhost and loopback addresses"),
    ("localhost.example", "only localhost, NAME.localhost and loopback addresses"),
    ("10.0.0.1", "only localhost, NAME.localhost and loopback addresses"),
    ("*.localhost", "may hold only letters, digits and '-'"),
    ("a_b.localhost", "may hold only letters, digits and '-'"),
    (".localhost", "the name is empty"),
])
def test_other_hosts_are_refused(host: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        servable(host)


@given(st.text(max_size=80))
def test_servable_accepts_only_localhost_names_and_loopback(text: str) -> None:
    try:
        host = servable(text)
    except UsageError:
        return
    assert host == "localhost" or host.endswith(".localhost") or host.startswith(("127.", "::1")), host
    assert "*" not in host and "/" not in host


ROUTES = {name: Route(name, port, RouteKind.ALIAS, None, None, 0.0) for name, port in (("app", 1), ("api.shop", 2))}


def _decide(host_headers: Sequence[bytes], target: bytes) -> Decision:
    return decide(host_headers, target, ROUTES)


@pytest.mark.parametrize(("host", "own"), [
    ("app.localhost", True),
    ("api.app.localhost", True),  # a subdomain routes to its parent's route
    ("api.shop.localhost", True),
    ("v2.api.shop.localhost", True),
    ("portside.localhost", True),  # the dashboard's, routed or not
    ("shop.localhost", False),  # only api.shop is routed
    ("nmae.localhost", False),
    ("r1999.localhost", False),
    ("localhost", False),
    ("127.0.0.1", False),
])
def test_only_names_that_route_get_a_leaf_of_their_own(host: str, own: bool) -> None:
    assert gets_leaf(host, _decide) is own
