"""Pure judgement for `doctor`: evidence gathered by the adapters in, ranked Findings out.

`doctor TARGET` answers "why can I not reach it": what each address said to a client of
the target's scheme, set against what listens where (here, on other addresses, in other
network namespaces), how the name resolves (/etc/hosts, getaddrinfo's order), the
firewall's rules and the proxy variables a client would obey — and, for a container's
published port, what listens inside the container (containers/findings.py).

`--listen PORT` answers "why can my server not bind PORT": someone holds it, closed
connections in TIME_WAIT still pin it, it lies in the kernel's ephemeral range (an
outgoing connection may take it at any moment), or it is privileged for this user.
"""

from __future__ import annotations

from portside._typing import NamedTuple
from portside.containers.describe import engine_command, label
from portside.containers.findings import container_findings
from portside.doctor.clients import Client, reaches
from portside.doctor.firewall import FirewallRule, catching
from portside.doctor.proxyenv import ProxyRoute
from portside.inventory.exposure import unreachable_bind
from portside.inventory.match import accepts
from portside.leasing.pool import PortRange
from portside.model import Container, Finding, ForeignListener, Listener, ProcessInfo, Severity, TcpOutcome
from portside.net.addresses import AddressKind, Target, classify, dialled_as, host_port, zone_of

RANK = {Severity.FAULT: 0, Severity.WARNING: 1, Severity.INFO: 2}


class ListenEvidence(NamedTuple):
    """What the machine says about binding `port` (TCP)."""

    port: int
    holders: tuple[Listener, ...]
    time_wait: int
    ephemeral: PortRange
    unprivileged_start: int
    root: bool


def _owners(listener: Listener) -> str:
    return ", ".join(f"pid {p.pid} ({p.name})" for p in listener.processes) or "an owner not visible to you"


def _holder_text(listener: Listener) -> str:
    return f"{host_port(listener.address, listener.port)} held by {_owners(listener)}"


def _stop_hint(holders: tuple[Listener, ...], port: int) -> str:
    """How to free the port: stop the container that publishes it (its stand-in is never signalled), else kill."""
    container = next((listener.container for listener in holders if listener.container is not None), None)
    if container is None:
        return f"stop it (`portside kill {port}`)"
    return f"stop the {label(container)}: {engine_command(container, 'stop')},"


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
            f"{_stop_hint(evidence.holders, port)} or use another port: PORT=$(portside pick)",
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


class Exchange(NamedTuple):
    """What one address did for a client of the target's scheme (doctor/_dial.py gathers it).

    `reply`: http, banner, silent, closed, other (bytes that are not HTTP) or tls-failed;
    None when TCP did not connect. `accepted` is False when the connection sat unaccepted
    in the server's queue; `other_scheme` is True when the port spoke the other of TLS
    and plain HTTP instead.
    """

    address: str
    tcp: TcpOutcome
    connect_ms: float | None
    reply: str | None = None
    status: int | None = None
    detail: str = ""
    accepted: bool | None = None
    other_scheme: bool = False

    @property
    def server_error(self) -> bool:
        """An HTTP answer of 500 or more."""
        return self.reply == "http" and self.status is not None and self.status >= 500


class TargetEvidence(NamedTuple):
    """Everything `doctor TARGET` judges."""

    target: Target
    name: str | None
    resolved: tuple[str, ...] | None
    resolve_error: str | None
    hosts_mapped: tuple[str, ...] | None
    nss_localhost: bool
    exchanges: tuple[Exchange, ...]
    listeners: tuple[Listener, ...]
    stopped: tuple[ProcessInfo, ...]
    elsewhere: tuple[ForeignListener, ...]
    rules: tuple[FirewallRule, ...]
    notes: tuple[str, ...]
    proxy: ProxyRoute | None
    connect_timeout: float = 1.0
    stopped_containers: tuple[Container, ...] = ()


def _interface(address: str) -> str | None:
    """The interface a connection to `address` comes in on, where the address says: lo, or a scoped one's zone."""
    return "lo" if classify(address) is AddressKind.LOOPBACK else zone_of(address)


def _rules_text(rules: tuple[FirewallRule, ...]) -> str:
    return "; ".join(f"{rule.source} {rule.location}: {rule.text}" for rule in rules)


def _fix_rules(rules: tuple[FirewallRule, ...], port: int) -> str:
    return "; ".join(dict.fromkeys(rule.remove.replace("PORT", str(port)) for rule in rules))


def _firewall(evidence: TargetEvidence) -> list[Finding]:
    port = evidence.target.port
    findings = []
    unread = f" (firewall rules unread: {'; '.join(evidence.notes)})" if evidence.notes else ""
    unfound = f"no rule naming port {port} was found{unread}"
    look = f"look for the rule: sudo nft -a list ruleset | grep -w {port}"
    for exchange in evidence.exchanges:
        shown = host_port(exchange.address, port)
        # A container's published port is answered by the container: its refusal is judged in containers/.
        listening = [lst for lst in evidence.listeners if accepts(lst, exchange.address) and lst.container is None]
        if listening and all(unreachable_bind(lst) for lst in listening):
            continue  # not a firewall: nothing here holds the address (address-not-local)
        caught = catching(evidence.rules, exchange.address, port, _interface(exchange.address))
        specific = tuple(rule for rule in caught if not rule.policy)
        if exchange.tcp is TcpOutcome.TIMEOUT:
            full = [lst for lst in listening if lst.accept_queue is not None and lst.backlog is not None
                    and lst.accept_queue > 0 and lst.accept_queue >= lst.backlog]
            if full and not specific:
                findings.append(_not_accepting(evidence, exchange))
                continue
            drops = tuple(rule for rule in specific if rule.verdict == "drop") or caught
            observed = f"connecting to {shown} timed out after {evidence.connect_timeout:g} s: the SYN was dropped"
            findings.append(Finding(
                "firewall-drop", Severity.FAULT,
                observed + (f"; matching rule: {_rules_text(drops)}" if drops else f"; {unfound}"),
                f"remove the rule: {_fix_rules(drops, port)}" if drops else look,
            ))
        elif exchange.tcp in (TcpOutcome.REFUSED, TcpOutcome.UNREACHABLE):
            rejects = tuple(rule for rule in specific if rule.verdict == "reject")
            if rejects:
                findings.append(Finding(
                    "firewall-reject", Severity.FAULT,
                    f"{shown} was {exchange.tcp}: rejected by {_rules_text(rejects)}",
                    f"remove the rule: {_fix_rules(rejects, port)}",
                ))
            elif listening:
                findings.append(Finding(
                    "firewall-reject", Severity.FAULT,
                    f"{shown} was {exchange.tcp} although {_owners(listening[0])} listens on "
                    f"{host_port(listening[0].address, port)}: something rejects it; {unfound}",
                    look,
                ))
    return findings


def _absent(evidence: TargetEvidence) -> list[Finding]:
    """Nothing answered: say where the port does listen, if anywhere."""
    port = evidence.target.port
    dialled = [exchange.address for exchange in evidence.exchanges]
    tried = ", ".join(host_port(address, port) for address in dialled)
    if any(accepts(listener, address) for listener in evidence.listeners for address in dialled):
        return []
    reachable = [lst for lst in evidence.listeners if lst.reachable_on]
    if reachable:
        where = "; ".join(f"{host_port(lst.address, port)} by {_owners(lst)}" for lst in reachable)
        return [Finding(
            "listening-elsewhere", Severity.FAULT,
            f"nothing listens on {tried}, but port {port} listens on {where}",
            f"dial {host_port(reachable[0].reachable_on[0], port)}, or make the server listen on the address you dial "
            "(127.0.0.1 and ::1, or localhost)",
        )]
    if evidence.listeners:
        return []  # bound only to addresses this machine does not hold (address-not-local)
    if evidence.elsewhere:
        where = "; ".join(f"{host_port(f.address, port)} in {f.namespace} (pid {f.pid}, {f.process})"
                          for f in evidence.elsewhere)
        pid = evidence.elsewhere[0].pid
        return [Finding(
            "other-namespace", Severity.FAULT,
            f"nothing listens on port {port} in this network namespace, but {where}",
            f"publish the port to this namespace (e.g. docker run -p 127.0.0.1:{port}:{port} ...), or connect from "
            f"inside it: nsenter --net --target {pid} portside doctor {port}",
        )]
    return [Finding(
        "nothing-listening", Severity.FAULT,
        f"{_outcomes(evidence)}, and no socket on this machine listens on TCP port {port}",
        f"start the server on port {port}, or find the port it did take: portside ls",
    )]


def _outcomes(evidence: TargetEvidence) -> str:
    """What each dial said, addresses with the same outcome together: "[::1]:80, 127.0.0.1:80: refused"."""
    port = evidence.target.port
    said: dict[str, list[str]] = {}
    for exchange in evidence.exchanges:
        said.setdefault(str(exchange.tcp), []).append(host_port(exchange.address, port))
    return "; ".join(f"{', '.join(addresses)}: {outcome}" for outcome, addresses in said.items())


def _family(evidence: TargetEvidence) -> list[Finding]:
    """getaddrinfo's first address does not answer but another does: say which clients fail and which fall back."""
    name, resolved = evidence.name, evidence.resolved
    if not name or not resolved:
        return []
    connected = {exchange.address: exchange.tcp is TcpOutcome.CONNECTED for exchange in evidence.exchanges}
    first = next((e for e in evidence.exchanges if e.address == resolved[0]), None)
    answering = [address for address, up in connected.items() if up]
    if first is None or first.tcp is TcpOutcome.CONNECTED or not answering:
        return []
    found = reaches(name, resolved, evidence.target.scheme, connected)
    failing = [reach.client for reach in found if reach.reaches is None]
    if not failing:
        return []
    port = evidence.target.port
    reached: dict[str, list[Client]] = {}
    for reach in found:
        if reach.reaches is not None:
            reached.setdefault(reach.reaches, []).append(reach.client)
    fall_back = "; ".join(f"these reach {host_port(address, port)}: {_names(clients)}"
                          for address, clients in reached.items())
    severity = Severity.FAULT if any(client.stands_for_target for client in failing) else Severity.WARNING
    return [Finding(
        "family-mismatch", severity,
        f"{name} resolves to {', '.join(resolved)} (getaddrinfo), and {host_port(first.address, port)} is "
        f"{first.tcp}; the server answers only on {', '.join(host_port(a, port) for a in answering)}. "
        f"These fail: {_names(failing)}" + (f"; {fall_back}" if fall_back else ""),
        "make the server listen on both families (bind :: with IPV6_V6ONLY=0, or both ::1 and 127.0.0.1), "
        f"or dial {host_port(answering[0], port)} instead of the name",
    )]


def _names(clients: list[Client]) -> str:
    names = [client.name for client in clients]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _not_local(evidence: TargetEvidence) -> list[Finding]:
    """A listener the target would reach is bound to an address no interface (that is up) holds."""
    port = evidence.target.port
    dialled = [e.address for e in evidence.exchanges if e.tcp is not TcpOutcome.CONNECTED]
    nothing_answers = not any(e.tcp is TcpOutcome.CONNECTED for e in evidence.exchanges)
    alone = nothing_answers and not any(lst.reachable_on for lst in evidence.listeners)
    stranded = [lst for lst in evidence.listeners if unreachable_bind(lst)
                and (alone or any(accepts(lst, address) for address in dialled))]
    if not stranded:
        return []
    bound = ", ".join(dict.fromkeys(dialled_as(lst.address) for lst in stranded))
    host, _, zone = dialled_as(stranded[0].address).partition("%")
    return [Finding(
        "address-not-local", Severity.FAULT,
        "; ".join(f"{_owners(lst)} listens on {host_port(lst.address, port)}" for lst in stranded)
        + f", but no interface that is up holds {bound} (removed after the server bound it, or its link is down): "
        "nothing can reach it",
        f"add the address back to its interface (sudo ip addr add {host}/PREFIX dev {zone or 'DEVICE'}) or "
        "bring its link up, or restart the server on an address this machine holds (ip -brief addr)",
    )]


def _subdomain(evidence: TargetEvidence) -> list[Finding]:
    name = evidence.name
    if not name or not name.endswith(".localhost") or evidence.hosts_mapped != () or evidence.nss_localhost:
        return []
    return [Finding(
        "localhost-subdomain", Severity.WARNING,
        f"{name} is loopback for browsers and curl (RFC 6761), but getaddrinfo (Python, Node, Go's cgo resolver) "
        "finds it neither in /etc/hosts nor through an NSS module, and asks DNS",
        f"add to /etc/hosts: 127.0.0.1 {name} and ::1 {name} (or use libnss-myhostname / systemd-resolved)",
    )]


def _hosts(evidence: TargetEvidence) -> list[Finding]:
    mapped = evidence.hosts_mapped
    if evidence.name != "localhost" or mapped is None:
        return []
    wrong = [a for a in mapped if classify(a) is not AddressKind.LOOPBACK]
    fix = "put these lines in /etc/hosts: 127.0.0.1 localhost and ::1 localhost"
    if wrong:
        return [Finding("hosts-misconfigured", Severity.FAULT,
                        f"/etc/hosts maps localhost to {', '.join(wrong)}, which is not loopback", fix)]
    if mapped:
        return []
    resolved = evidence.resolved or ()
    outside = [a for a in resolved if classify(a) is not AddressKind.LOOPBACK]
    said = (f"getaddrinfo fails ({evidence.resolve_error})" if evidence.resolve_error
            else f"getaddrinfo answers {', '.join(resolved)}")
    severity = Severity.FAULT if evidence.resolve_error or outside else Severity.WARNING
    return [Finding("hosts-misconfigured", severity, f"/etc/hosts has no line for localhost; {said}", fix)]


def _not_accepting(evidence: TargetEvidence, exchange: Exchange) -> Finding:
    waiting = [lst for lst in evidence.listeners if accepts(lst, exchange.address)]
    queue = (f" (accept queue {waiting[0].accept_queue}, backlog {waiting[0].backlog})"
             if waiting and waiting[0].accept_queue is not None else "")
    stopped = ", ".join(f"pid {p.pid} ({p.name})" for p in evidence.stopped)
    shown = host_port(exchange.address, evidence.target.port)
    observed = (f"connecting to {shown} timed out: the server's accept queue is full{queue}"
                if exchange.tcp is TcpOutcome.TIMEOUT else
                f"{shown} completes the TCP handshake, but the server never accepts the connection{queue}")
    return Finding(
        "not-accepting", Severity.FAULT,
        observed + (f"; {stopped} is stopped (SIGSTOP, Ctrl-Z or a debugger)" if stopped else ""),
        (f"resume it: kill -CONT {' '.join(str(p.pid) for p in evidence.stopped)} (or fg in its shell)"
         if stopped else "the server is stuck or overloaded: see what it does (py-spy dump, gdb -p PID), "
                         "then restart it"),
    )


def _answers(evidence: TargetEvidence) -> list[Finding]:
    target = evidence.target
    port = target.port
    findings = []
    for exchange in evidence.exchanges:
        shown = host_port(exchange.address, port)
        if exchange.accepted is False:
            findings.append(_not_accepting(evidence, exchange))
        elif exchange.other_scheme:
            right = "http" if target.secure else "https"
            spoken = "plain HTTP" if right == "http" else "TLS"
            answer = " ".join(str(part) for part in (exchange.reply, exchange.status, exchange.detail) if part)
            findings.append(Finding(
                "wrong-scheme", Severity.FAULT,
                f"{shown} speaks {spoken}, but the target asks for {target.scheme or 'http'} (the answer was {answer})",
                f"use {right}://{host_port(evidence.name or exchange.address, port)}{target.path}",
            ))
        elif exchange.server_error:
            findings.append(Finding(
                "http-error", Severity.FAULT,
                f"{shown} answers GET {target.path} with {exchange.status} {exchange.detail}",
                "the server is reachable but failing: read its log or error output",
            ))
        elif exchange.reply == "silent" and target.scheme is not None:
            findings.append(Finding(
                "no-answer", Severity.FAULT,
                f"{shown} accepted the connection but sent nothing back within the wait",
                f"see what the server does, and what it speaks: portside probe {host_port(exchange.address, port)}",
            ))
        elif exchange.reply in ("other", "closed", "tls-failed") and target.scheme is not None:
            said = f"first bytes {exchange.detail}" if exchange.detail else "nothing"
            findings.append(Finding(
                "wrong-protocol", Severity.FAULT,
                f"{shown} does not speak {target.scheme}: it answered {exchange.reply} ({said})",
                f"see what it speaks: portside probe {host_port(exchange.address, port)}",
            ))
    return findings


def _proxy(evidence: TargetEvidence) -> list[Finding]:
    route = evidence.proxy
    if route is None:
        return []
    host = evidence.name or (evidence.exchanges[0].address if evidence.exchanges else "localhost")
    severity = Severity.FAULT if evidence.target.scheme else Severity.WARNING
    covered = f"no_proxy={route.no_proxy!r} does not cover {host}" if route.no_proxy else "no_proxy is not set"
    return [Finding(
        "proxy-env", severity,
        f"{route.variable}={route.proxy} would carry the request (curl, wget, Python, Node read it) and {covered}",
        "export no_proxy=localhost,127.0.0.1,::1,.localhost NO_PROXY=localhost,127.0.0.1,::1,.localhost",
    )]


def _works(evidence: TargetEvidence) -> Finding | None:
    working = [e for e in evidence.exchanges if e.tcp is TcpOutcome.CONNECTED
               and e.reply in ("http", "banner", "silent", None) and not e.server_error]
    if not working:
        return None
    exchange = working[0]
    said = f"; HTTP {exchange.status} {exchange.detail}".rstrip() if exchange.reply == "http" else ""
    return Finding("ok", Severity.INFO,
                   f"{host_port(exchange.address, evidence.target.port)} connected in {exchange.connect_ms} ms{said}",
                   "none needed")


def diagnose_target(evidence: TargetEvidence) -> list[Finding]:
    """Why connecting to the target fails (or `ok` with how it answered), ranked."""
    containers = container_findings(evidence.target.port, evidence.listeners, evidence.stopped_containers,
                                    evidence.exchanges)
    findings = [*_hosts(evidence), *_subdomain(evidence), *_family(evidence), *_not_local(evidence),
                *_firewall(evidence), *_answers(evidence), *_proxy(evidence), *containers]
    explained = any(finding.severity is Severity.FAULT for finding in containers)
    if not explained and not any(exchange.tcp is TcpOutcome.CONNECTED for exchange in evidence.exchanges):
        findings.extend(_absent(evidence))
    if not any(finding.severity is Severity.FAULT for finding in findings):
        works = _works(evidence)
        if works is not None:
            findings.append(works)
    return ranked(findings)
