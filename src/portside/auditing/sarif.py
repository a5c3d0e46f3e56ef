"""An audit as SARIF 2.1.0, so code-scanning UIs show its findings. Pure: report in, JSON-ready dict out.

Each violation (reachable, not allowed), each listener whose reachability is unknown and
each risk finding is a result; its rule id is the finding code; its location is the
listener, as a logical location (`ADDRESS:PORT`), plus the policy file when there is one.
"""

from __future__ import annotations

from portside._version import __version__
from portside.auditing import AuditReport, findings_of
from portside.model import Severity

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {Severity.FAULT: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
RULES = {
    "reachable-not-allowed": "A listener other machines can reach that the policy does not allow",
    "reachability-unknown": "A listener whose reachability portside could not prove",
    "debugger-exposed": "A debugger reachable beyond loopback",
    "redis-no-auth": "Redis answering without a password beyond loopback",
    "memcached-no-auth": "memcached answering without authentication beyond loopback",
    "mongodb-no-auth": "MongoDB running commands for a client that never logged in, beyond loopback",
    "dev-server-exposed": "A dev server (Vite, webpack, Next.js, Django, Rails, Jupyter) reachable beyond loopback",
    "tls-certificate-expired": "An expired TLS certificate served beyond loopback",
    "verify-mismatch": "A real connection from outside that did not do what the rules predicted",
}


def to_sarif(report: AuditReport, policy: str | None) -> dict[str, object]:
    results = []
    for entry in report.entries:
        where = f"{entry.listener.address}:{entry.listener.port}"
        for finding in findings_of(entry):
            location: dict[str, object] = {"logicalLocations": [{"name": where, "kind": "resource"}]}
            if policy is not None:
                location["physicalLocation"] = {"artifactLocation": {"uri": policy}}
            results.append({
                "ruleId": finding.code, "level": LEVELS[finding.severity],
                "message": {"text": f"{finding.observed}. Fix: {finding.fix}"}, "locations": [location],
            })
    return {
        "$schema": SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "portside", "version": __version__,
                "rules": [{"id": code, "shortDescription": {"text": text}} for code, text in RULES.items()],
            }},
            "results": results,
        }],
    }
