"""Tables for source-address matches (nft `ip saddr`, iptables -s) and netdev ingress / bridge chains."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st
from records import listener

from portside.auditing.chains import parse_iptables_chains, parse_nft_chains
from portside.auditing.reach import Fate, Packet, follow
from portside.auditing.sources import ANY, source_classes
from portside.auditing.verdicts import Verdict, judge
from portside.model import Family, InterfaceAddress

ADDRESSES = (
    InterfaceAddress(Family.IPV4, "127.0.0.1", "lo", 1),
    InterfaceAddress(Family.IPV4, "10.0.0.5", "eth0", 2),
    InterfaceAddress(Family.IPV6, "2001:db8::5", "eth0", 2),
)


def nft(*rules: str, policy: str = "drop") -> str:
    body = "\n".join(f"        {rule}" for rule in rules)
    return f"""table inet t {{
    set trusted {{
        type ipv4_addr
        flags interval
        elements = {{ 198.51.100.0/24, 203.0.113.7 }}
    }}
    chain input {{
        type filter hook input priority 0; policy {policy};
{body}
    }}
}}"""


@pytest.mark.parametrize(("ruleset", "address", "verdict", "why"), [
    (nft("ip saddr 192.0.2.0/24 tcp dport 80 accept"), "0.0.0.0", Verdict.REACHABLE,
     "accepted: 10.0.0.5 via eth0 from 192.0.2.0/24"),
    (nft("ip saddr 192.0.2.0/24 tcp dport 81 accept"), "0.0.0.0", Verdict.FILTERED, "policy drop"),
    (nft("ip saddr 192.0.2.0/24 tcp dport 80 drop", policy="accept"), "0.0.0.0", Verdict.REACHABLE,
     "from any other source except 192.0.2.0/24"),
    (nft("ip saddr != 192.0.2.0/24 drop", policy="accept"), "0.0.0.0", Verdict.REACHABLE, "from 192.0.2.0/24"),
    (nft("ip saddr 10.1.0.0/16 accept", "ip saddr 10.0.0.0/8 drop"), "0.0.0.0", Verdict.REACHABLE,
     "via eth0 from 10.1.0.0/16"),
    (nft("ip saddr @trusted tcp dport 80 accept"), "0.0.0.0", Verdict.REACHABLE,
     "accepted: 10.0.0.5 via eth0 from 198.51.100.0/24 or 203.0.113.7/32"),
    (nft("ip saddr 192.0.2.10-192.0.2.20 tcp dport 80 accept"), "0.0.0.0", Verdict.REACHABLE, "from 192.0.2.10/31"),
    (nft("ip6 saddr 2001:db8:1::/48 tcp dport 80 accept"), "::", Verdict.REACHABLE, "from 2001:db8:1::/48"),
    (nft("ip6 saddr 2001:db8:1::/48 tcp dport 80 accept"), "0.0.0.0", Verdict.FILTERED, "policy drop"),
    (nft("ip saddr 192.0.2.0/24 drop", "meta mark 0x1 accept"), "0.0.0.0", Verdict.UNKNOWN, "cannot evaluate"),
    (nft("ip saddr 192.0.2.0/24 drop", "tcp dport 80 reject"), "0.0.0.0", Verdict.FILTERED,
     "drop by table inet t chain input: ip saddr 192.0.2.0/24 drop (from 192.0.2.0/24)"),
])
def test_source_matches_split_the_verdict_by_sender(ruleset: str, address: str, verdict: Verdict, why: str) -> None:
    judged = judge(listener(address, 80), ADDRESSES, parse_nft_chains(ruleset))
    assert judged.verdict is verdict, judged
    assert why in judged.reason


def test_iptables_source_rules_are_evaluated() -> None:
    text = """*filter
:INPUT DROP [0:0]
-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT ! -s 10.0.0.0/8 -p tcp -m tcp --dport 23 -j DROP
-A INPUT -p tcp -m tcp --dport 23 -j ACCEPT
COMMIT
"""
    chains = parse_iptables_chains(text, 4, "iptables-legacy")
    ssh = judge(listener("0.0.0.0", 22), ADDRESSES, chains)
    assert ssh.verdict is Verdict.REACHABLE and ssh.reason == "accepted: 10.0.0.5 via eth0 from 192.0.2.0/24"
    telnet = judge(listener("0.0.0.0", 23), ADDRESSES, chains)
    assert telnet.verdict is Verdict.REACHABLE and telnet.reason == "accepted: 10.0.0.5 via eth0 from 10.0.0.0/8"
    assert follow(chains, Packet("10.0.0.5", 22, "eth0", saddr="192.0.2.9")).fate is Fate.ACCEPT
    assert follow(chains, Packet("10.0.0.5", 22, "eth0", saddr="192.0.3.9")).fate is Fate.DROP
    assert follow(chains, Packet("10.0.0.5", 22, "eth0")).fate is Fate.UNKNOWN  # no sender given: cannot tell


def test_source_classes_are_named_as_a_person_reads_them() -> None:
    chains = parse_nft_chains(nft("ip saddr 10.1.0.0/16 accept", "ip saddr 10.0.0.0/8 drop"))
    assert [c.label for c in source_classes(chains, 4)] == [
        "10.0.0.0/8 except 10.1.0.0/16", "10.1.0.0/16", "any other source except 10.0.0.0/8"]
    assert source_classes(chains, 6) == (ANY,)
    assert source_classes(parse_nft_chains(nft("tcp dport 22 accept")), 4) == (ANY,)


networks = st.builds(lambda a, p: ipaddress.ip_network((a, p), strict=False),
                     st.integers(0, 2**32 - 1), st.integers(1, 32))


@given(st.lists(networks, min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_every_sender_falls_in_a_class_its_sample_shares_every_match_with(nets: list, sender: int) -> None:  # type: ignore[type-arg]
    """Property: whatever the prefixes, any sender is treated by every match as one class's sample is."""
    address = ipaddress.IPv4Address(sender)
    if address.is_loopback or address.is_multicast or address.is_unspecified or sender == 2**32 - 1:
        return
    rules = [f"ip saddr {net} tcp dport {index + 1} accept" for index, net in enumerate(nets)]
    classes = source_classes(parse_nft_chains(nft(*rules)), 4)
    inside = {net for net in nets if address in net}
    assert any({net for net in nets if ipaddress.IPv4Address(c.sample) in net} == inside for c in classes)


INGRESS = """table netdev edge {
    chain ingress {
        type filter hook ingress device "eth0" priority -500; policy accept;
        tcp dport 22 drop
        ct state new tcp dport 80 accept
    }
    chain both {
        type filter hook ingress devices = { "eth0", "wg0" } priority 0; policy accept;
        ip saddr 192.0.2.0/24 tcp dport 2222 drop
    }
}
table inet host {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 22 accept
    }
}"""


@pytest.mark.parametrize(("packet", "fate", "said"), [
    (Packet("10.0.0.5", 22, "eth0"), Fate.DROP, "table netdev edge chain ingress: tcp dport 22 drop"),
    (Packet("10.0.0.5", 22, "wg0"), Fate.ACCEPT, "tcp dport 22 accept"),  # ingress of eth0 only
    (Packet("10.0.0.5", 80, "eth0"), Fate.UNKNOWN, "ct state (no conntrack at ingress)"),
    (Packet("10.0.0.5", 2222, "wg0", saddr="192.0.2.1"), Fate.DROP, "table netdev edge chain both"),
    (Packet("10.0.0.5", 2222, "wg0", saddr="192.0.3.1"), Fate.ACCEPT, "no rule on the path stops it"),
])
def test_netdev_ingress_chains_come_first_for_their_devices(packet: Packet, fate: Fate, said: str) -> None:
    outcome = follow(parse_nft_chains(INGRESS), packet)
    assert outcome.fate is fate and said in (outcome.said() or outcome.reason)


def test_ingress_with_policy_drop_filters_and_names_the_chain() -> None:
    text = 'table netdev e {\n chain i {\n  type filter hook ingress device "eth0" priority 0; policy drop;\n }\n}'
    judged = judge(listener("0.0.0.0", 80), ADDRESSES, parse_nft_chains(text))
    assert judged.verdict is Verdict.FILTERED and "table netdev e chain i: policy drop" in judged.reason


def test_bridge_chains_that_could_stop_a_packet_make_it_unknown() -> None:
    text = "table bridge b {\n chain in {\n  type filter hook input priority 0; policy accept;\n  tcp dport 80 drop\n }\n}"
    judged = judge(listener("0.0.0.0", 80), ADDRESSES, parse_nft_chains(text))
    assert judged.verdict is Verdict.UNKNOWN and "bridge-family rules are not evaluated" in judged.reason
    empty = "table bridge b {\n chain in {\n  type filter hook input priority 0; policy accept;\n }\n}"
    assert judge(listener("0.0.0.0", 80), ADDRESSES, parse_nft_chains(empty)).verdict is Verdict.REACHABLE


WORDS = st.sampled_from(["ip", "ip6", "saddr", "daddr", "tcp", "dport", "!=", "{", "}", ",", "10.0.0.0/8", "::1",
                         "10.0.0.9-10.0.0.1", "10.0.0.1-::2", "1-2", "80", "22-23", "iifname", '"eth0"', "ct", "state",
                         "new", "accept", "drop", "reject", "jump", "x", "meta", "mark", "@trusted", "devices", "="])


@given(st.lists(st.lists(WORDS, max_size=8).map(" ".join), max_size=6), st.sampled_from(["inet", "netdev", "bridge"]),
       st.sampled_from(["input", "ingress", "prerouting"]))
def test_any_rules_parse_and_give_a_verdict(lines: list[str], family: str, hook: str) -> None:
    body = "\n".join(f"        {line}" for line in lines)
    text = (f'table {family} t {{\n    chain c {{\n        type filter hook {hook} device "eth0" priority 0; policy drop;\n'
            f"{body}\n    }}\n}}")
    chains = parse_nft_chains(text)
    for address in ("0.0.0.0", "::"):
        assert judge(listener(address, 80), ADDRESSES, chains).verdict in set(Verdict)
