"""The proxy's route table looks at the store once per event-loop iteration, per loop: a route removed by
another process is no longer found from another loop, another thread, or once the loop that looked is gone."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from portside.leasing.store import Store
from portside.model import Route, RouteKind
from portside.router.gateway import Gateway, RouteTable
from portside.router.registry import add_route, remove_route


def test_a_removed_route_is_gone_for_every_loop_and_thread(tmp_path: Path) -> None:
    proxy, other = Store(tmp_path), Store(tmp_path)  # the proxy's connection and another process's
    try:
        table = Gateway(8080, proxy).table
        add_route("a", 4001, kind=RouteKind.ALIAS, store=other)
        add_route("b", 4002, kind=RouteKind.ALIAS, store=other)
        loop = asyncio.new_event_loop()
        loop.call_soon(lambda: (table.current(), loop.stop()))  # looks, and the loop ends in that iteration
        loop.run_forever()
        loop.close()
        remove_route("a", store=other)
        assert "a" not in table.current()  # no loop running: it looks
        assert "a" not in asyncio.run(_current(table))  # another loop: it looks
        seen: list[bool] = []

        async def serving() -> None:
            assert "b" in table.current()  # this iteration has looked
            remove_route("b", store=other)
            thread = threading.Thread(target=lambda: seen.append("b" in table.current()))
            thread.start()
            thread.join()
            assert "b" not in table.current(fresh=True)

        asyncio.run(serving())
        assert seen == [False]  # another thread, while the serving loop's iteration had looked
    finally:
        proxy.close()
        other.close()


async def _current(table: RouteTable) -> dict[str, Route]:
    return table.current()
