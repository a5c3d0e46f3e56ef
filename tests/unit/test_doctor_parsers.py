"""Property tests for doctor's parsers: /etc/hosts, proxy variables, nftables and iptables listings, /proc/net/tcp text."""

from __future__ import annotations

import ipaddress
import socket
import struct

from hypothesis import given
from hypothesis import strategies as st

from portside.doctor.firewall import catches, catching, parse_iptables_save, parse_nft
from portside.doctor.hostsfile import answers_localhost_names, mapped_to, parse_hosts
from portside.doctor.proxyenv import bypasses, proxy_route
from portside.inventory._namespaces import parse_net_tcp

labels = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
hostnames = st.lists(labels, min_size=1, max_size=3).map(".".join)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
ports = st.integers(1, 65535)


@given(st.text())
def test_hosts_parser_takes_any_text(text: str) -> None:
    for entry in parse_hosts(text):
        assert entry.names and "#" not in entry.address


@given(st.lists(st.tuples(st.one_of(ipv4, ipv6), st.lists(hostnames, min_size=1, max_size=3)), max_size=8), hostnames)
def test_hosts_mapping_follows_file_order(lines: list[tuple[str, list[str]]], name: str) -> None:
    text = "# generated\n" + "".join(f"{a}\t{' '.join(n)}  # note\n\n" for a, n in lines)
    expected = tuple(dict.fromkeys(a for a, names in lines if name in names))
    assert mapped_to(parse_hosts(text), name) == expected
    assert mapped_to(parse_hosts(text), name.upper() + ".") == expected


@given(st.text(), st.lists(st.sampled_from(["files", "dns", "mdns4_minimal", "[NOTFOUND=return]", "myhostname",
                                            "resolve"]), max_size=5))
def test_nsswitch_hosts_line(noise: str, modules: list[str]) -> None:
    text = f"# hosts: myhostname\npasswd: files\nhosts:\t{' '.join(modules)} # resolve\n"
    assert answers_localhost_names(text) == bool({"myhostname", "resolve"} & set(modules))
    answers_localhost_names(noise)


def test_hosts_comment_lines_do_not_count() -> None:
    assert mapped_to(parse_hosts("#127.0.0.1 localhost\n::1 ip6-localhost # localhost\n"), "localhost") == ()


@given(hostnames, ports)
def test_star_and_exact_names_bypass(host: str, port: int) -> None:
    assert bypasses("*", host, port)
    assert bypasses(f"other.example, {host}", host, port)
    assert bypasses(f".{host}", f"api.{host}", port) and bypasses(host, f"api.{host}", port)
    assert not bypasses(host, f"x{host}", port)


@given(ipv4, st.integers(8, 32), ports)
def test_cidr_entries_cover_their_addresses(address: str, prefix: int, port: int) -> None:
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    assert bypasses(str(network), address, port)
    assert bypasses(f"{address}:{port}", address, port) and not bypasses(f"{address}:{port % 65535 + 1}", address, port)


@given(st.dictionaries(st.sampled_from(["http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy", "no_proxy",
                                        "NO_PROXY"]), st.text(max_size=30)), hostnames, ports)
def test_proxy_route_takes_any_environment(environ: dict[str, str], host: str, port: int) -> None:
    route = proxy_route("http", host, port, environ)
    if route is not None:
        assert route.variable in ("http_proxy", "HTTP_PROXY", "all_proxy") and route.proxy.strip()


def test_lower_case_variable_wins_and_https_uses_its_own() -> None:
    environ = {"HTTP_PROXY": "http://upper:1", "http_proxy": "http://lower:1", "https_proxy": "http://tls:1"}
    assert proxy_route("http", "localhost", 80, environ).variable == "http_proxy"  # type: ignore[union-attr]
    assert proxy_route("https", "localhost", 443, environ).proxy == "http://tls:1"  # type: ignore[union-attr]
    assert proxy_route("http", "localhost", 80, {**environ, "no_proxy": "localhost"}) is None


port_sets = st.lists(st.one_of(ports.map(str), st.tuples(ports, ports).map(lambda r: f"{min(r)}-{max(r)}")),
                     min_size=1, max_size=5)


def _in(values: list[str], port: int) -> bool:
    for value in values:
        low, _, high = value.partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


@given(port_sets, st.sampled_from(["drop", "reject", "reject with tcp reset", "accept"]), ports,
       st.sampled_from(["inet", "ip", "ip6"]), st.booleans(), st.booleans())
def test_nft_rules_catch_exactly_their_ports(values: list[str], verdict: str, port: int, family: str,
                                             named_set: bool, negated: bool) -> None:
    spec = "@allowed" if named_set else ("{ " + ", ".join(values) + " }" if len(values) > 1 else values[0])
    elements = ",\n\t\t\t     ".join(values)
    text = (f"table {family} t {{ # handle 1\n\tset allowed {{ # handle 2\n\t\ttype inet_service\n\t\tflags interval\n"
            f"\t\telements = {{ {elements} }}\n\t}}\n"
            f"\tchain input {{ # handle 3\n\t\ttype filter hook input priority filter; policy accept;\n"
            f"\t\tcounter packets 0 bytes 0 tcp dport {'!= ' if negated else ''}{spec} {verdict} # handle 4\n\t}}\n}}\n")
    rules = parse_nft(text)
    if verdict == "accept":
        assert rules == ()
        return
    (rule,) = rules
    assert rule.verdict == verdict.split()[0] and rule.remove == f"nft delete rule {family} t input handle 4"
    expected = _in(values, port) != negated
    assert catches(rule, "127.0.0.1", port, "lo") == (expected and family != "ip6")
    assert catches(rule, "::1", port, "lo") == (expected and family != "ip")


def test_nft_address_interface_and_protocol_conditions() -> None:
    text = """table inet f { # handle 1
\tchain input { # handle 1
\t\ttype filter hook input priority filter; policy drop;
\t\tip daddr 10.0.0.0/8 tcp dport 80 drop # handle 2
\t\tiifname != "lo" tcp dport 80 reject # handle 3
\t\tudp dport 80 drop # handle 4
\t\tmeta l4proto udp th dport 80 drop # handle 5
\t\tiif "lo" tcp dport 81 accept # handle 6
\t}
}
"""
    rules = parse_nft(text)
    assert [r.text for r in catching(rules, "10.1.2.3", 80, None)] == [
        "ip daddr 10.0.0.0/8 tcp dport 80 drop", 'iifname != "lo" tcp dport 80 reject',
        "policy drop (type filter hook input priority filter; policy drop)"]
    assert [r.policy for r in catching(rules, "127.0.0.1", 80, "lo")] == [True]
    assert [r.policy for r in catching(rules, "::1", 81, "lo")] == [True]


@given(st.text())
def test_nft_parser_takes_any_text(text: str) -> None:
    for rule in parse_nft(text):
        assert rule.verdict in ("drop", "reject")


@given(port_sets, ports, st.sampled_from(["DROP", "REJECT", "ACCEPT"]), st.booleans())
def test_iptables_rules_catch_exactly_their_ports(values: list[str], port: int, target: str, negated: bool) -> None:
    spec = ",".join(v.replace("-", ":") for v in values)
    match = f"-m multiport {'! ' if negated else ''}--dports {spec}"
    text = f"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp {match} -j {target}\nCOMMIT\n"
    rules = parse_iptables_save(text, 4, "iptables-legacy")
    if target == "ACCEPT":
        assert rules == ()
        return
    (rule,) = rules
    assert rule.remove == f"iptables-legacy -D INPUT -p tcp {match} -j {target}"
    assert catches(rule, "127.0.0.1", port, "lo") == (_in(values, port) != negated)
    assert not catches(rule, "::1", port, "lo")


def test_iptables_policy_and_other_protocols() -> None:
    text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p udp --dport 53 -j DROP\n-A INPUT -d ::1/128 -p tcp -j REJECT\nCOMMIT\n"
    rules = parse_iptables_save(text, 6, "ip6tables")
    assert [(r.policy, r.verdict) for r in catching(rules, "::1", 53, "lo")] == [(True, "drop"), (False, "reject")]
    assert [r.policy for r in catching(rules, "::2", 53, "lo")] == [True]


@given(st.text())
def test_iptables_parser_takes_any_text(text: str) -> None:
    for rule in parse_iptables_save(text, 4, "iptables"):
        assert rule.verdict in ("drop", "reject") and rule.families == {4} and rule.source == "iptables"


def _proc_line(index: int, address: str, port: int, state: str) -> str:
    packed = socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET, address)
    words = b"".join(struct.pack("<I", struct.unpack(">I", packed[i : i + 4])[0]) for i in range(0, len(packed), 4))
    return f"{index:4}: {words.hex().upper()}:{port:04X} {'0' * len(words.hex())}:0000 {state} 00000000:00000000 00:0"


@given(st.lists(st.tuples(st.one_of(ipv4, ipv6), ports, st.sampled_from(["0A", "01", "06"])), max_size=10))
def test_proc_net_tcp_listeners(rows: list[tuple[str, int, str]]) -> None:
    text = "  sl  local_address rem_address   st\n" + "\n".join(
        _proc_line(i, a, p, s) for i, (a, p, s) in enumerate(rows)) + "\n"
    expected = [(str(ipaddress.ip_address(a)), p) for a, p, s in rows if s == "0A"]
    assert list(parse_net_tcp(text.encode())) == expected


@given(st.binary())
def test_proc_net_tcp_takes_any_bytes(data: bytes) -> None:
    for address, port in parse_net_tcp(data):
        assert str(ipaddress.ip_address(address)) == address and isinstance(port, int)
