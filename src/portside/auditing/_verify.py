"""Dial this machine's listeners from outside: a network namespace of portside's own, joined by a veth pair.

As root: make namespace `psv-XXXXXX` and a veth pair (host end `psvXXXXXXh` with
169.254.213.1/30 and fd70:7073::1/126, namespace end with .2/::2 and default routes through
the host end), dial every (address, port) from inside all at once with non-blocking
connects (so real packets cross the real firewall, arriving on the host end), then remove
the namespace (which removes the pair). Only the host's own addresses are dialled; each
connect gets `TIMEOUT` seconds, so the whole run stays within a few seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from portside.errors import RefusedError

TIMEOUT = 1.0
HOST4, INSIDE4 = "169.254.213.1", "169.254.213.2"
HOST6, INSIDE6 = "fd70:7073::1", "fd70:7073::2"

DIALER = """
import json, select, socket, sys, time
targets = json.loads(sys.argv[1])
pending, results = {}, {}
for address, port in targets:
    s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    code = s.connect_ex((address, port))
    key = f"{address} {port}"
    if code == 0:
        results[key] = "connected"; s.close()
    elif code in (115, 114):
        pending[s] = key
    else:
        results[key] = "refused" if code == 111 else "unreachable"; s.close()
deadline = time.monotonic() + float(sys.argv[2])
while pending and time.monotonic() < deadline:
    _, ready, _ = select.select([], list(pending), [], max(0.0, deadline - time.monotonic()))
    for s in ready:
        code = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        results[pending.pop(s)] = "connected" if code == 0 else "refused" if code == 111 else "unreachable"
        s.close()
for s, key in pending.items():
    results[key] = "timeout"; s.close()
print(json.dumps(results))
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=5)


def dial_from_outside(targets: list[tuple[str, int]]) -> tuple[str, dict[tuple[str, int], str]]:
    """The host end's interface name, and what a connect to each target from the namespace did:
    connected, refused, timeout or unreachable."""
    import os

    if os.geteuid() != 0:
        raise RefusedError("--verify needs root: it builds a network namespace and a veth pair")
    tag = uuid.uuid4().hex[:6]
    name, host_end, inside_end = f"psv-{tag}", f"psv{tag}h", f"psv{tag}n"
    _ip("netns", "add", name)
    try:
        _ip("link", "add", host_end, "type", "veth", "peer", "name", inside_end, "netns", name)
        _ip("addr", "add", f"{HOST4}/30", "dev", host_end)
        _ip("addr", "add", f"{HOST6}/126", "dev", host_end, "nodad")
        _ip("link", "set", host_end, "up")
        for command in (["link", "set", "lo", "up"], ["addr", "add", f"{INSIDE4}/30", "dev", inside_end],
                        ["addr", "add", f"{INSIDE6}/126", "dev", inside_end, "nodad"],
                        ["link", "set", inside_end, "up"], ["route", "add", "default", "via", HOST4],
                        ["-6", "route", "add", "default", "via", HOST6]):
            _ip("-n", name, *command)
        done = subprocess.run(["ip", "netns", "exec", name, sys.executable, "-c", DIALER, json.dumps(targets),
                               str(TIMEOUT)], capture_output=True, text=True, check=True, timeout=TIMEOUT + 10)
        said = json.loads(done.stdout)
        return host_end, {(a, p): said.get(f"{a} {p}", "timeout") for a, p in targets}
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True, timeout=5)
        subprocess.run(["ip", "link", "del", host_end], check=False, capture_output=True, timeout=5)
