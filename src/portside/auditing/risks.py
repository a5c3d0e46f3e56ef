"""Risk rules: which reachable listeners are dangerous, and the fix for each. Pure.

A listener's command line names a debugger (`node --inspect`, debugpy, Chrome's
`--remote-debugging-port`); with `--probe` the service's own answer names a debugger
endpoint, a cache or database that needs no password (Redis without requirepass,
memcached, MongoDB that runs `listDatabases` for a client that never logged in), a dev
server (Vite, webpack, Next.js, Django's runserver, Rails, Jupyter) or a TLS certificate
past its expiry. Each rule gives a stable code, a severity, what was seen and a fix as a
command or config line. Time is an argument (`now`), so the rules stay pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from portside.model import Finding, Listener, Severity

# The flag each dev server binds with (docs/dev-servers.md); PORT is the listener's port.
DEV_SERVER_FIXES = {
    "vite": "vite --host 127.0.0.1 (or server.host: '127.0.0.1' in vite.config.js)",
    "webpack": "webpack serve --host 127.0.0.1 (or devServer.host: '127.0.0.1' in webpack.config.js)",
    "next": "next dev --hostname 127.0.0.1",
    "django": "python manage.py runserver 127.0.0.1:PORT",
    "rails": "bin/rails server --binding 127.0.0.1",
    "jupyter": "jupyter lab --ip 127.0.0.1 (or jupyter notebook --ip 127.0.0.1)",
}
DEV_SERVER_NAMES = {"vite": "Vite", "webpack": "webpack's dev server", "next": "Next.js (next dev)",
                    "django": "Django's runserver", "rails": "Rails (bin/rails server)", "jupyter": "Jupyter"}


def _cmdline(listener: Listener) -> str:
    return " ".join(" ".join(p.cmdline) for p in listener.processes)


def _debugger(listener: Listener, where: str, details: Mapping[str, object]) -> Finding | None:
    command = _cmdline(listener)
    if "--inspect" in command and any(p.name.startswith("node") for p in listener.processes):
        return Finding("debugger-exposed", Severity.FAULT,
                       f"the Node.js inspector ({command[:80]}) is reachable on {where}: a remote shell",
                       "bind it to loopback: node --inspect=127.0.0.1:9229 ...")
    if "debugpy" in command or "--remote-debugging-port" in command:
        return Finding("debugger-exposed", Severity.FAULT, f"a debugger ({command[:80]}) is reachable on {where}",
                       "bind the debugger to 127.0.0.1 (debugpy --listen 127.0.0.1:PORT, "
                       "--remote-debugging-address=127.0.0.1)")
    if details.get("debugger") in ("node", "chrome"):
        kind = "the Node.js inspector" if details["debugger"] == "node" else "Chrome's remote debugging"
        return Finding("debugger-exposed", Severity.FAULT,
                       f"{kind} ({details.get('browser')}) answers /json/version on {where}: a remote shell",
                       "bind the debugger to 127.0.0.1 (node --inspect=127.0.0.1:PORT, "
                       "--remote-debugging-address=127.0.0.1)")
    return None


def _certificate(where: str, details: Mapping[str, object], now: datetime) -> Finding | None:
    """An expired certificate, seen by the probe's TLS handshake (directly, or after PostgreSQL's SSLRequest)."""
    nested = details.get("tls")
    found = nested if isinstance(nested, Mapping) else details
    not_after = found.get("not_after")
    if not isinstance(not_after, str):
        return None
    try:
        expiry = datetime.fromisoformat(not_after)
    except ValueError:
        return None
    if expiry.tzinfo is None or expiry >= now:
        return None
    subject = found.get("subject") or "?"
    return Finding("tls-certificate-expired", Severity.WARNING,
                   f"the TLS certificate on {where} ({subject}) expired on {expiry:%Y-%m-%d %H:%M} UTC",
                   "renew it (certbot renew, or portside trust for a local one) and reload the server")


def risks(listener: Listener, protocol: str | None, details: Mapping[str, object],
          now: datetime) -> tuple[Finding, ...]:
    """Findings for a listener reachable beyond loopback; `protocol`/`details` are what a probe heard (or None),
    `now` (aware) the time certificates are judged at."""
    where = f"{listener.address}:{listener.port}"
    found = [finding for finding in (_debugger(listener, where, details),) if finding is not None]
    if protocol == "redis" and details.get("auth_required") is False:
        found.append(Finding("redis-no-auth", Severity.FAULT, f"Redis on {where} answers PING without a password",
                             "in redis.conf: bind 127.0.0.1 -::1 (and requirepass), or redis-server --bind 127.0.0.1"))
    if protocol == "memcached":
        found.append(Finding("memcached-no-auth", Severity.FAULT,
                             f"memcached on {where} answers without authentication", "memcached -l 127.0.0.1"))
    if protocol == "mongodb" and details.get("auth_required") is False:
        found.append(Finding("mongodb-no-auth", Severity.FAULT,
                             f"MongoDB on {where} ran listDatabases for a client that never logged in",
                             "in mongod.conf: net.bindIp: 127.0.0.1 and security.authorization: enabled "
                             "(or mongod --bind_ip 127.0.0.1 --auth)"))
    dev_server = details.get("dev_server")
    if isinstance(dev_server, str) and dev_server in DEV_SERVER_FIXES:
        found.append(Finding("dev-server-exposed", Severity.WARNING,
                             f"{DEV_SERVER_NAMES[dev_server]} is reachable on {where}: it serves the source tree "
                             "and is not built to face a network",
                             "bind it to loopback: " + DEV_SERVER_FIXES[dev_server].replace("PORT", str(listener.port))
                             + " (see docs/dev-servers.md)"))
    certificate = _certificate(where, details, now)
    if certificate is not None:
        found.append(certificate)
    return tuple(found)
