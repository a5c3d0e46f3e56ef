"""Who holds a port: the listeners a target names, each owner with its cwd and parent chain, and the clients.

One inventory pass with connections; the owners' details (cwd, ancestry) are read only for
the processes that hold the target, so the cost stays that of `ls` plus a few /proc reads.
When nothing holds it here, the notes say only where it listens in other network namespaces.
"""

from __future__ import annotations

from portside.inventory import ancestry, elsewhere_notes, inventory, process_cwd
from portside.inventory.match import clients, matching
from portside.model import Holder, ProcessInfo, WhoReport
from portside.net.resolve import aim


def who(target: int | str, *, backend: str | None = None) -> WhoReport:
    """Who holds `target` (a port or any target text); an empty report when nothing does."""
    parsed, addresses = aim(target)
    found = inventory(connections=True, backend=backend)
    held = matching(found.listeners, parsed.port, addresses)
    owners: dict[int, ProcessInfo] = {info.pid: info for item in held for info in item.processes}
    holders = tuple(
        Holder(process=info, cwd=process_cwd(pid), parents=tuple(ancestry(info)))
        for pid, info in sorted(owners.items())
    )
    return WhoReport(
        target=str(target),
        port=parsed.port,
        listeners=held,
        holders=holders,
        connections=clients(found.connections, held) if held else (),
        notes=found.notes if held else elsewhere_notes([parsed.port], "who"),
    )
