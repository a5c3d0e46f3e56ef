"""Which hosts the local CA makes a leaf for: localhost, NAME.localhost and loopback addresses, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portside.errors import UsageError
from portside.router.tls.localca import servable


@pytest.mark.parametrize(("host", "canonical"), [
    ("localhost", "localhost"),
    ("App.Localhost.", "app.localhost"),
    (" API.app.localhost ", "api.app.localhost"),
    ("127.0.0.2", "127.0.0.2"),
    ("::1", "::1"),
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
