"""Bad input on every verb: one line on stderr naming what was wrong, nothing on stdout, exit 2.

The CLI runs in-process; nothing here gets as far as a socket or a process. Rows that name
a lease or a route find an empty state store of the test's own.
"""

from __future__ import annotations

import pytest

BAD_INPUT = [
    # top level
    (["frobnicate"], "invalid choice"),
    # ls
    (["ls", "--port", "abc"], "is not a number"),
    (["ls", "--port", "70000"], "out of range"),
    (["ls", "--pid", "x"], "is not a process id"),
    (["ls", "--bogus"], "unrecognized arguments"),
    (["ls", "--backend", "bsd"], "invalid choice: 'bsd'"),
    # who
    (["who", "0"], "port 0 is out of range"),
    (["who", "65536"], "port 65536 is out of range"),
    (["who", "-1"], "is not a number"),
    (["who", "abc"], "no port given"),
    (["who", "[::1"], "unclosed '['"),
    (["who", "1.2.3.4.5:80"], "not a valid IPv4 address"),
    (["who", ""], "empty target"),
    # kill
    (["kill", "0"], "invalid target '0': port 0 is out of range"),
    (["kill", "65536"], "invalid target '65536': port 65536 is out of range"),
    (["kill", "-1"], "invalid target '-1': port '-1' is not a number"),
    (["kill", "abc"], "invalid target 'abc': no port given"),
    (["kill", "[::1"], "invalid target '[::1': unclosed '['"),
    (["kill", "1.2.3.4.5:80"], "invalid target '1.2.3.4.5:80'"),
    (["kill", ""], "invalid target '': empty target"),
    (["kill", "8080", "--timeout", "-1"], "--timeout"),
    # probe
    (["probe", "70000"], "port 70000 is out of range"),
    (["probe", "nohost"], "no port given"),
    (["probe", "ftp://x:1"], "unsupported scheme 'ftp'"),
    (["probe", ""], "empty target"),
    (["probe", "[fe80::5]:80"], "fe80::5 is link-local: name its interface, e.g. [fe80::5%eth0]:80"),
    (["probe", "[fe80::5%a b]:80"], "zone 'a b' is not an interface name or index"),
    # wait
    (["wait"], "the following arguments are required: TARGET"),
    (["wait", "70000"], "out of range"),
    (["wait", "nohost"], "no port given"),
    (["wait", "1", "--timeout", "soon"], "invalid --timeout"),
    (["wait", "1", "--timeout", "-3"], "invalid --timeout"),
    (["wait", "1", "--http", "999"], "invalid --http status"),
    (["wait", "1", "--http", "ok"], "invalid --http status"),
    (["wait", "1", "--http", "200", "--closed"], "not allowed with argument"),
    (["wait", "http://[fe80::5]:80/"], "fe80::5 is link-local: name its interface"),
    # audit
    (["audit", "--policy", "/nonexistent/portside.toml"], "policy '/nonexistent/portside.toml' cannot be read"),
    (["audit", "--json", "--sarif"], "not allowed with argument"),
    (["audit", "--policy"], "expected one argument"),
    # doctor
    (["doctor"], "doctor needs a TARGET"),
    (["doctor", "80", "--listen", "80"], "not both"),
    (["doctor", "99999"], "out of range"),
    (["doctor", "localhost:"], "port is missing"),
    (["doctor", "http://[::1"], "invalid target 'http://[::1'"),
    (["doctor", "[fe80::5]:80"], "fe80::5 is link-local: name its interface"),
    (["doctor", "--listen", "0"], "port 0 is out of range"),
    (["doctor", "--listen", "70000"], "port 70000 is out of range"),
    (["doctor", "--listen", "abc"], "port 'abc' is not a number"),
    (["doctor", "--listen", ""], "the port is missing"),
    # pick, release
    (["pick", "--range", "70000-80000"], "out of range"),
    (["pick", "--range", "5-3"], "is above"),
    (["pick", "--range", "abc"], "not a port number"),
    (["pick", "--range", ""], "expected LO-HI"),
    (["pick", "--range", "40000-40100"], "inside the kernel's ephemeral range"),
    (["pick", "--count", "0"], "invalid --count"),
    (["pick", "--count", "x"], "invalid --count"),
    (["pick", "--ttl", "-1"], "invalid --ttl"),
    (["pick", "--ttl", "soon"], "invalid --ttl"),
    (["pick", "--owner", "0"], "invalid --owner"),
    (["pick", "--owner", "4194304999"], "no running process"),
    (["pick", "--name", "bad_name"], "DNS label"),
    (["pick", "--name", "a", "--count", "2"], "do not mix"),
    (["release", "nothing-here"], "no lease on name 'nothing-here'"),
    (["release", "61000"], "no lease on port 61000"),
    (["release", "0"], "out of range"),
    (["release", "70000"], "out of range"),
    # run, alias, proxy
    (["run", "bad_name", "--", "true"], "invalid name"),
    (["run", "app"], "needs a command"),
    (["run", "12345", "--", "true"], "all digits"),
    (["alias", "app", "70000"], "out of range"),
    (["alias", "app"], "needs NAME and PORT"),
    (["alias", "nothing-here", "--remove"], "no route named"),
    (["proxy", "start", "--port", "0"], "out of range"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUT, ids=[" ".join(argv) or "(none)" for argv, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2(cli, argv: list[str], message: str) -> None:
    result = cli(*argv)
    assert (result.status, result.stdout) == (2, ""), result
    assert result.stderr.startswith("portside: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_bad_proxy_port_variable(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTSIDE_PROXY_PORT", "http")
    result = cli("proxy", "status")
    assert result.status == 2 and result.stderr == (
        "portside: error: PORTSIDE_PROXY_PORT: invalid target 'http': port 'http' is not a number from 1 to 65535\n")
