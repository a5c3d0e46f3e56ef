"""Risk rules: which reachable listeners are dangerous, and the fix for each. Pure.

A listener's command line names a debugger (`node --inspect`, debugpy, Chrome's
`--remote-debugging-port`); with `--probe` the service's own answer names a cache or
database that needs no password (Redis without requirepass, memcached). Each rule gives
a stable code, a severity, what was seen and a fix as a command or config line.
"""

from __future__ import annotations

from collections.abc import Mapping

from portside.model import Finding, Listener, Severity


def _cmdline(listener: Listener) -> str:
    return " ".join(" ".join(p.cmdline) for p in listener.processes)


def risks(listener: Listener, protocol: str | None, details: Mapping[str, object]) -> tuple[Finding, ...]:
    """Findings for a listener reachable beyond loopback; `protocol`/`details` are what a probe heard (or None)."""
    where = f"{listener.address}:{listener.port}"
    command = _cmdline(listener)
    found = []
    if "--inspect" in command and any(p.name.startswith("node") for p in listener.processes):
        found.append(Finding("debugger-exposed", Severity.FAULT,
                             f"the Node.js inspector ({command[:80]}) is reachable on {where}: a remote shell",
                             "bind it to loopback: node --inspect=127.0.0.1:9229 ..."))
    elif "debugpy" in command or "--remote-debugging-port" in command:
        found.append(Finding("debugger-exposed", Severity.FAULT, f"a debugger ({command[:80]}) is reachable on {where}",
                             "bind the debugger to 127.0.0.1 (debugpy --listen 127.0.0.1:PORT, "
                             "--remote-debugging-address=127.0.0.1)"))
    if protocol == "redis" and details.get("auth_required") is False:
        found.append(Finding("redis-no-auth", Severity.FAULT, f"Redis on {where} answers PING without a password",
                             "in redis.conf: bind 127.0.0.1 -::1 (and requirepass), or redis-server --bind 127.0.0.1"))
    if protocol == "memcached":
        found.append(Finding("memcached-no-auth", Severity.FAULT,
                             f"memcached on {where} answers without authentication", "memcached -l 127.0.0.1"))
    return tuple(found)
