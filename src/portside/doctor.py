"""Pure judgement for `doctor`: evidence gathered by the adapters in, ranked Findings out.

`--listen PORT` answers "why can my server not bind PORT": someone holds it, closed
connections in TIME_WAIT still pin it, it lies in the kernel's ephemeral range (an
outgoing connection may take it at any moment), or it is privileged for this user.
"""

from __future__ import annotations

from typing import NamedTuple

from portside.model import Finding, Listener, Severity
from portside.portpool import PortRange

RANK = {Severity.FAULT: 0, Severity.WARNING: 1, Severity.INFO: 2}


class ListenEvidence(NamedTuple):
    """What the machine says about binding `port` (TCP)."""

    port: int
    holders: tuple[Listener, ...]
    time_wait: int
    ephemeral: PortRange
    unprivileged_start: int
    root: bool


def _holder_text(listener: Listener) -> str:
    owners = ", ".join(f"pid {p.pid} ({p.name})" for p in listener.processes) or "an owner not visible to you"
    shown = f"[{listener.address}]" if ":" in listener.address else listener.address
    return f"{shown}:{listener.port} held by {owners}"


def ranked(findings: list[Finding]) -> list[Finding]:
    """Faults first, then warnings, then information; `ok` when there is nothing else."""
    if not findings:
        return [Finding("ok", Severity.INFO, "nothing stands in the way", "none needed")]
    return sorted(findings, key=lambda finding: RANK[finding.severity])


def diagnose_listen(evidence: ListenEvidence) -> list[Finding]:
    port = evidence.port
    findings = []
    if evidence.holders:
        findings.append(Finding(
            "port-in-use", Severity.FAULT,
            "; ".join(_holder_text(listener) for listener in evidence.holders),
            f"stop it (`portside kill {port}`) or use another port: PORT=$(portside pick)",
        ))
    if evidence.time_wait:
        findings.append(Finding(
            "time-wait", Severity.WARNING,
            f"{evidence.time_wait} closed connection(s) on port {port} are in TIME_WAIT (up to 60 s)",
            "bind with SO_REUSEADDR (most servers do; e.g. Python: allow_reuse_address = True) or wait a minute",
        ))
    if port in evidence.ephemeral:
        findings.append(Finding(
            "ephemeral-range", Severity.WARNING,
            f"port {port} is in the kernel's ephemeral range {evidence.ephemeral} (net.ipv4.ip_local_port_range): "
            "any outgoing connection may take it",
            "use a port outside it: PORT=$(portside pick)",
        ))
    if port < evidence.unprivileged_start:
        if evidence.root:
            findings.append(Finding(
                "privileged-port", Severity.INFO,
                f"port {port} is below {evidence.unprivileged_start} (net.ipv4.ip_unprivileged_port_start); "
                "root may bind it",
                "none needed as root; other users need CAP_NET_BIND_SERVICE or a port >= "
                f"{evidence.unprivileged_start}",
            ))
        else:
            findings.append(Finding(
                "privileged-port", Severity.FAULT,
                f"port {port} is below {evidence.unprivileged_start} (net.ipv4.ip_unprivileged_port_start) "
                "and this user is not root",
                f"use a port >= {evidence.unprivileged_start}, or grant the binary the capability: "
                "sudo setcap cap_net_bind_service=+ep /path/to/server",
            ))
    return ranked(findings)
