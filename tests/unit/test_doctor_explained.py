"""When doctor may leave out the firewall and the other namespaces: the listeners here explain every dial."""

from __future__ import annotations

import pytest
from records import listener, process

from portside.doctor.evidence import _explained
from portside.doctor.judge import Exchange
from portside.model import Listener, TcpOutcome

OWNER = process(42)
ON_V4 = (listener("127.0.0.1", 80, OWNER),)
ON_ALL = (listener("::", 80, OWNER, dual_stack=True),)


def dial(address: str, tcp: TcpOutcome) -> Exchange:
    return Exchange(address, tcp, 0.1 if tcp is TcpOutcome.CONNECTED else None)


C, R, T = TcpOutcome.CONNECTED, TcpOutcome.REFUSED, TcpOutcome.TIMEOUT


@pytest.mark.parametrize(("dials", "listeners", "explained"), [
    ([("127.0.0.1", C)], ON_V4, True),
    ([("::1", R), ("127.0.0.1", C)], ON_V4, True),  # localhost beside a server on 127.0.0.1 only
    ([("::1", R), ("127.0.0.1", C)], ON_ALL, False),  # a listener binds ::1 yet it refused: a REJECT rule?
    ([("::1", T), ("127.0.0.1", C)], ON_V4, False),  # a timeout is never explained by the listeners
    ([("127.0.0.1", R)], (), False),  # nothing connected: the firewall and other namespaces may say why
    ([("127.0.0.1", R)], ON_V4, False),
    ([("127.0.0.1", TcpOutcome.UNREACHABLE), ("::1", C)], ON_ALL, False),
    ([], ON_V4, False),
])
def test_explained(dials: list[tuple[str, TcpOutcome]], listeners: tuple[Listener, ...], explained: bool) -> None:
    assert _explained(tuple(dial(address, tcp) for address, tcp in dials), listeners) is explained
