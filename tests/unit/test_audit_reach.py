"""Tables for audit's pure core: rulesets (nftables and iptables-save text) and the fate of a new TCP connection."""

from __future__ import annotations

import pytest
from records import listener, process

from portside.auditing import AuditEntry, Check, evaluate, findings_of
from portside.auditing.chains import parse_iptables_chains, parse_nft_chains
from portside.auditing.policy import Policy, parse_policy
from portside.auditing.reach import Fate, Packet, follow
from portside.auditing.verdicts import Verdict, judge
from portside.errors import PolicyError
from portside.model import Container, ContainerSource, Engine, Family, InterfaceAddress

HOST = """
table inet host {
    set open {
        type inet_service
        elements = { 8443, 9000 }
    }
    chain input {
        type filter hook input priority filter; policy drop;
        iif "lo" accept # handle 2
        ct state established,related accept # handle 3
        ct state invalid drop # handle 4
        meta l4proto icmp accept # handle 5
        tcp dport 22 accept # handle 6
        tcp dport @open accept # handle 7
        iifname "wg*" tcp dport 5432 accept # handle 8
        ip daddr 10.0.0.5 tcp dport 6000-6010 accept # handle 9
        ip6 daddr 2001:db8::5 tcp dport 7000 accept # handle 10
        tcp dport 8080 counter packets 1 bytes 60 reject with tcp reset # handle 11
        tcp dport != 3000 jump extra # handle 12
    }
    chain extra {
        tcp dport 4000 accept # handle 13
        return # handle 14
    }
}
"""


@pytest.mark.parametrize(("daddr", "port", "iif", "fate", "decided_by"), [
    ("10.0.0.5", 22, "eth0", Fate.ACCEPT, "tcp dport 22 accept"),
    ("10.0.0.5", 9000, "eth0", Fate.ACCEPT, "tcp dport @open accept"),
    ("10.0.0.5", 5432, "eth0", Fate.DROP, "policy drop"),
    ("10.0.0.5", 5432, "wg0", Fate.ACCEPT, 'iifname "wg*" tcp dport 5432 accept'),
    ("10.0.0.5", 6005, "eth0", Fate.ACCEPT, "ip daddr 10.0.0.5 tcp dport 6000-6010 accept"),
    ("10.0.0.6", 6005, "eth0", Fate.DROP, "policy drop"),
    ("2001:db8::5", 7000, "eth0", Fate.ACCEPT, "ip6 daddr 2001:db8::5 tcp dport 7000 accept"),
    ("2001:db8::5", 6005, "eth0", Fate.DROP, "policy drop"),  # an `ip daddr` rule never sees IPv6
    ("10.0.0.5", 8080, "eth0", Fate.REJECT, "reject with tcp reset"),
    ("10.0.0.5", 4000, "eth0", Fate.ACCEPT, "tcp dport 4000 accept"),  # accepted in a jumped-to chain
    ("10.0.0.5", 4001, "eth0", Fate.DROP, "policy drop"),  # returned, then the policy
])
def test_nftables_path(daddr: str, port: int, iif: str, fate: Fate, decided_by: str) -> None:
    outcome = follow(parse_nft_chains(HOST), Packet(daddr, port, iif))
    assert outcome.fate is fate
    assert decided_by in outcome.said()


def test_accept_in_one_base_chain_does_not_escape_a_drop_in_a_later_one() -> None:
    text = HOST + """
table ip late {
    chain input {
        type filter hook input priority 10; policy accept;
        tcp dport 22 drop
    }
}
table ip early {
    chain pre {
        type filter hook prerouting priority raw; policy accept;
        iifname "eth9" drop
    }
}
"""
    chains = parse_nft_chains(text)
    assert follow(chains, Packet("10.0.0.5", 22, "eth0")).fate is Fate.DROP
    assert "table ip late chain input" in follow(chains, Packet("10.0.0.5", 22, "eth0")).said()
    assert "table ip early chain pre" in follow(chains, Packet("10.0.0.5", 9000, "eth9")).said()
    assert follow(chains, Packet("2001:db8::5", 22, "eth0")).fate is Fate.ACCEPT


def test_what_cannot_be_evaluated_is_unknown_not_a_guess() -> None:
    text = """table inet t {
    chain input {
        type filter hook input priority 0; policy accept;
        ip saddr 192.0.2.0/24 tcp dport 80 drop
        meta mark 0x1 tcp dport 81 drop
        tcp dport 82 accept
    }
}"""
    chains = parse_nft_chains(text)
    assert follow(chains, Packet("10.0.0.5", 80, "eth0")).fate is Fate.UNKNOWN
    assert "cannot evaluate" in follow(chains, Packet("10.0.0.5", 81, "eth0")).reason
    assert follow(chains, Packet("10.0.0.5", 82, "eth0")).fate is Fate.ACCEPT


def test_no_ruleset_accepts_everything() -> None:
    assert follow((), Packet("10.0.0.5", 80, "eth0")).fate is Fate.ACCEPT


IPTABLES = """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:custom - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -i eth1 -p tcp -m multiport --dports 5000:5010,6000 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 8080 -j REJECT --reject-with tcp-reset
-A INPUT -p udp -m udp --dport 53 -j ACCEPT
-A INPUT -m comment --comment "extra rules" -j custom
-A custom -d 10.0.0.5/32 -p tcp -m tcp --dport 9000 -j ACCEPT
COMMIT
"""


@pytest.mark.parametrize(("daddr", "port", "iif", "fate"), [
    ("10.0.0.5", 22, "eth0", Fate.ACCEPT),
    ("10.0.0.5", 5005, "eth0", Fate.DROP),
    ("10.0.0.5", 5005, "eth1", Fate.ACCEPT),
    ("10.0.0.5", 6000, "eth1", Fate.ACCEPT),
    ("10.0.0.5", 8080, "eth1", Fate.REJECT),
    ("10.0.0.5", 53, "eth0", Fate.DROP),
    ("10.0.0.5", 9000, "eth0", Fate.ACCEPT),
    ("10.0.0.6", 9000, "eth0", Fate.DROP),
])
def test_iptables_legacy_path(daddr: str, port: int, iif: str, fate: Fate) -> None:
    assert follow(parse_iptables_chains(IPTABLES, 4, "iptables-legacy"), Packet(daddr, port, iif)).fate is fate


ADDRESSES = (
    InterfaceAddress(Family.IPV4, "127.0.0.1", "lo", 1),
    InterfaceAddress(Family.IPV6, "::1", "lo", 1),
    InterfaceAddress(Family.IPV4, "10.0.0.5", "eth0", 2),
    InterfaceAddress(Family.IPV6, "2001:db8::5", "eth0", 2),
    InterfaceAddress(Family.IPV4, "10.8.0.1", "wg0", 3),
)


@pytest.mark.parametrize(("address", "port", "dual", "verdict", "why"), [
    ("127.0.0.1", 5432, False, Verdict.LOCAL, "loopback only"),
    ("::1", 5432, False, Verdict.LOCAL, "loopback only"),
    ("0.0.0.0", 22, False, Verdict.REACHABLE, "10.0.0.5 via eth0"),
    ("0.0.0.0", 5432, False, Verdict.REACHABLE, "via wg0"),  # through the tunnel only
    ("10.0.0.5", 5432, False, Verdict.REACHABLE, "10.0.0.5 via wg0"),  # weak host: any interface reaches it
    ("0.0.0.0", 8080, False, Verdict.FILTERED, "reject by table inet host chain input"),
    ("0.0.0.0", 3000, False, Verdict.FILTERED, "drop by table inet host chain input: policy drop"),
    ("::", 7000, False, Verdict.REACHABLE, "2001:db8::5 via eth0"),
    ("::", 6005, True, Verdict.REACHABLE, "10.0.0.5 via eth0"),  # dual stack: IPv4 too
    ("::", 6005, False, Verdict.FILTERED, "policy drop"),
])
def test_verdicts(address: str, port: int, dual: bool, verdict: Verdict, why: str) -> None:
    judged = judge(listener(address, port, dual_stack=dual), ADDRESSES, parse_nft_chains(HOST))
    assert judged.verdict is verdict
    assert why in judged.reason


def test_unread_rules_make_every_exposed_listener_unknown_with_the_reason() -> None:
    judged = judge(listener("0.0.0.0", 22), ADDRESSES, None, "nft rules could not be read: Operation not permitted")
    assert judged.verdict is Verdict.UNKNOWN and "Operation not permitted" in judged.reason
    assert judge(listener("127.0.0.1", 22), ADDRESSES, None, "unread").verdict is Verdict.LOCAL


def test_a_published_container_port_is_judged_on_its_forward_path() -> None:
    text = HOST + """
table ip nat_fwd {
    chain forward {
        type filter hook forward priority 0; policy drop;
        ip daddr 172.17.0.2 tcp dport 80 accept
    }
}"""
    proxy = listener("0.0.0.0", 3000)
    container = Container(Engine.DOCKER, "c1", "web", "nginx", 80, "172.17.0.2", "running", "docker-proxy",
                          ContainerSource.API)
    chains = parse_nft_chains(text)
    assert judge(proxy, ADDRESSES, chains).verdict is Verdict.FILTERED  # the host's input drops 3000
    published = judge(proxy._replace(container=container), ADDRESSES, chains)
    assert published.verdict is Verdict.REACHABLE  # but DNAT goes around input
    assert all(path.outcome.fate is Fate.ACCEPT for path in published.paths)


def test_policy_allows_by_port_process_and_interface() -> None:
    policy = parse_policy('[[allow]]\nport = [22]\n\n[[allow]]\nprocess = "postgres"\ninterface = "wg0"\n')
    listeners = (listener("0.0.0.0", 22), listener("0.0.0.0", 5432, process(7, "postgres")),
                 listener("0.0.0.0", 9000, process(8, "postgres")), listener("127.0.0.1", 6379))
    entries = evaluate(listeners, ADDRESSES, parse_nft_chains(HOST), "", policy, {})
    assert [(e.reachability.verdict.value, e.allowed, e.violation) for e in entries] == [
        ("reachable", True, False),
        ("reachable", True, False),  # reachable through wg0 only, which the entry allows
        ("reachable", False, True),  # postgres, but reachable through eth0 too
        ("local", False, False),
    ]
    assert [e.violation for e in evaluate(listeners, ADDRESSES, parse_nft_chains(HOST), "", Policy(), {})] == [
        True, True, True, False]


@pytest.mark.parametrize(("text", "message"), [
    ("allow = 3", "allow: expected [[allow]] tables"),
    ("[[allow]]\nport = 'x'\n", "allow[0].port: expected a port number 1-65535 or a list of them, got 'x'"),
    ("[[allow]]\nport = 70000\n", "allow[0].port: expected a port number"),
    ("[[allow]]\nprocess = 3\n", "allow[0].process: expected a name or a list of names, got 3"),
    ("[[allow]]\nports = 3\n", "allow[0]: unknown key 'ports'; expected keys: port, process, container, interface"),
    ("[[allow]]\n", "allow[0]: empty entry"),
    ("deny = 1", "unknown key 'deny'"),
    ("[[allow]\n", "not valid TOML"),
])
def test_bad_policies_name_the_key(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match="^portside.toml: ") as raised:
        parse_policy(text)
    assert message in str(raised.value)


def test_risky_services_are_findings_with_fixes() -> None:
    node = listener("0.0.0.0", 9229, process(9, "node")._replace(cmdline=("node", "--inspect=0.0.0.0", "app.js")))
    redis = listener("0.0.0.0", 6379, process(10, "redis-server"))
    heard: dict[int, tuple[str | None, dict[str, object]]] = {6379: ("redis", {"auth_required": False})}
    entries = evaluate((node, redis), ADDRESSES, (), "", Policy(), heard)
    assert [[(f.code, f.fix) for f in e.findings] for e in entries] == [
        [("debugger-exposed", "bind it to loopback: node --inspect=127.0.0.1:9229 ...")],
        [("redis-no-auth", "in redis.conf: bind 127.0.0.1 -::1 (and requirepass), or redis-server --bind 127.0.0.1")],
    ]
    assert evaluate((node._replace(address="127.0.0.1"),), ADDRESSES, (), "", Policy(), heard)[0].findings == ()


def test_the_forward_path_knows_the_container_bridge_as_oif() -> None:
    text = """table ip filter {
    chain FORWARD {
        type filter hook forward priority filter; policy drop;
        oifname "docker0" ct state related,established accept
        jump DOCKER
    }
    chain DOCKER {
        ip daddr 172.17.0.2 iifname != "docker0" oifname "docker0" tcp dport 80 counter packets 0 bytes 0 accept
    }
}"""
    container = Container(Engine.DOCKER, "c1", "web", "nginx", 80, "172.17.0.2", "running", "docker-proxy",
                          ContainerSource.API)
    proxy = listener("0.0.0.0", 3000)._replace(container=container)
    chains = parse_nft_chains(text)
    assert judge(proxy, ADDRESSES, chains, "", {"172.17.0.2": "docker0"}).verdict is Verdict.REACHABLE
    unrouted = judge(proxy, ADDRESSES, chains)
    assert unrouted.verdict is Verdict.UNKNOWN and "cannot evaluate" in unrouted.reason


@pytest.mark.parametrize(("predicted", "measured", "agrees"), [
    (Fate.ACCEPT, "connected", True), (Fate.ACCEPT, "timeout", False), (Fate.DROP, "timeout", True),
    (Fate.DROP, "connected", False), (Fate.REJECT, "refused", True), (Fate.REJECT, "timeout", False),
    (Fate.UNKNOWN, "connected", True),
])
def test_verify_checks_agree_when_the_wire_does_what_was_predicted(predicted: Fate, measured: str, agrees: bool) -> None:
    check = Check("10.0.0.5", predicted, measured)
    assert check.agrees is agrees
    entry = AuditEntry(listener("10.0.0.5", 80), judge(listener("10.0.0.5", 80), ADDRESSES, ()), False, (), (check,))
    assert ([f.code for f in findings_of(entry)].count("verify-mismatch") == 1) is not agrees
    assert entry.violation  # reachable (no rules) and not allowed


def test_a_verdict_map_is_unknown_unless_the_rule_cannot_match() -> None:
    text = """table inet t {
    chain input {
        type filter hook input priority 0; policy drop;
        ct state vmap { established : accept, related : accept, invalid : drop }
        tcp dport vmap { 22 : accept, 23 : drop }
    }
}"""
    outcome = follow(parse_nft_chains(text), Packet("10.0.0.5", 22, "eth0"))
    assert outcome.fate is Fate.UNKNOWN and "verdict map in 'tcp dport vmap" in outcome.reason
    established_only = text.replace("        tcp dport vmap { 22 : accept, 23 : drop }\n", "")
    assert follow(parse_nft_chains(established_only), Packet("10.0.0.5", 22, "eth0")).fate is Fate.DROP


def test_the_fix_for_a_violation_is_a_command() -> None:
    container = Container(Engine.DOCKER, "c1", "web", "nginx", 80, "172.17.0.2", "running", "docker-proxy",
                          ContainerSource.API)
    plain, published = evaluate((listener("0.0.0.0", 8080), listener("0.0.0.0", 3000)._replace(container=container)),
                                ADDRESSES, (), "", Policy(), {})
    assert findings_of(plain)[0].fix == ("bind it to 127.0.0.1, or drop it: nft add rule inet filter input tcp dport "
                                         "8080 drop (or allow it in portside.toml: [[allow]] port = 8080)")
    assert findings_of(published)[0].fix == ("publish it on loopback only: -p 127.0.0.1:3000:80 (or allow it in "
                                             "portside.toml)")
