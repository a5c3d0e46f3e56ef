"""Fuzzed command lines on every verb: whatever the arguments, never exit 70 and never a traceback.

Hypothesis builds each argv from the verb's own parser (its flags, options and positionals,
in any order, some left out, some unknown) with tricky values: empty, huge numbers,
negatives, unicode digits and letters, `%`, brackets, surrogates, junk text without NUL.
It runs in-process through the `cli` fixture against a state store of the test's own. A
usage error must be one line; every status is 0, 1 or 2.

Safe by construction. A value that says where to connect names loopback only (127.0.0.0/8,
::1, `localhost` or `*.localhost`, which portside never resolves; for `doctor`, which asks
getaddrinfo about `localhost`, literal addresses only) and a port this test bound itself
(one listening, one closed), or a port that does not parse: no other name, so nothing goes
to a resolver, and no other port. `kill` always gets --dry-run first, so it signals no one;
`wait` always gets a short --timeout first (0 would wait forever, so it is never drawn).
Left out: `trust` (the system's trust stores), `run` (starts commands), `proxy start` and
`proxy serve`; `alias` starts the proxy, on this test's own port, and it is stopped after.
"""

from __future__ import annotations

import argparse
import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import start_holder, stop_holder

from portside.cli.main import build_parser

FUZZED = ("ls", "who", "kill", "pick", "leases", "release", "wait", "probe", "doctor", "alias", "routes", "proxy",
          "completion", "watch", "export", "dashboard")
# exporter serves until stopped; audit --probe/--verify dial every exposed listener, someone else's included:
# its bad input is in tests/unit/test_usage_errors.py, its runs in namespaces in tests/scenario/test_audit.py
NEVER = ("trust", "run", "exporter", "audit")
FORBIDDEN_PORT = "2024"  # someone else's listener on this machine: never named, never dialled
JUNK = ["", " ", "-", "0", "-1", "+1", "1e3", "1e-400", "nan", "inf", str(2**70), "%", "%%", "%25", "[", "]", "[]",
        "[::1", "::1]", ":", "ünï", "名前", "٠", "\udcff", "x" * 300, "\t", "0x50", "1_000", "a b", ".", "..", "🙂"]
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
ODD = st.one_of(st.sampled_from(JUNK), TEXT)
BAD_PORTS = ["", "0", "65536", "-1", "%", "٠", "٧٠٠٠٠", str(2**70), "0x50", "1e3", "8O"]


def mostly(good: st.SearchStrategy[str], bad: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`good` three times in four: junk everywhere would stop every command line at the first check."""
    return st.integers(0, 3).flatmap(lambda roll: bad if roll == 0 else good)


class Ports:
    """This test's ports: one listening (accepting and closing at once, so probes end quickly), one closed, and one
    held by a holder process (a listener of another process, for `kill --dry-run`, `who` and `ls`)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0), family=socket.AF_INET)
        self.listening = self.server.getsockname()[1]
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            self.closed = closed.getsockname()[1]
        self.holder = start_holder(["tcp:127.0.0.1:0", "udp:[::1]:0"])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            conn.close()

    def stop(self) -> None:
        stop_holder(self.holder)
        self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        self.thread.join(5)


@pytest.fixture(scope="module")
def ports() -> Iterator[Ports]:
    held = Ports()
    yield held
    held.stop()


def port_values(ports: Ports, held: bool = False) -> st.SearchStrategy[str]:
    """This test's ports (the holder's only where nothing dials it: a probe would wait on it), or ports that do not
    parse."""
    good = [ports.listening, ports.closed, *(ports.holder.ports if held else [])]
    return mostly(st.sampled_from([str(port) for port in good]), st.sampled_from(BAD_PORTS))


def targets(ports: Ports, names: bool = True, held: bool = False) -> st.SearchStrategy[str]:
    """Loopback targets in every spelling, on this test's ports or on ports that do not parse."""
    hosts = ["127.0.0.1", "127.1.2.3", "[::1]", "[::1%lo]", "[::1%25lo]"]
    hosts += ["localhost", "LOCALHOST", "localhost.", "api.localhost"] if names else []
    odd_hosts = ["[::1%]", "[127.0.0.1]", "::1", "[::1", "a..localhost", "-x.localhost"]
    host = mostly(st.sampled_from(hosts), st.sampled_from(odd_hosts))
    port = port_values(ports, held)
    forms = [
        st.builds(lambda h, p: f"{h}:{p}", host, port),
        st.builds(lambda s, h, p, path: f"{s}://{h}:{p}{path}", st.sampled_from(["http", "https", "HTTP", "ftp"]), host,
                  port, st.sampled_from(["", "/", "/x?y#z", "/%", "/ü"])),
    ]
    if names:  # a bare port means localhost
        forms += [port.map(lambda p: f":{p}"), port]
    odd = st.sampled_from(["", "[", "http://[::1", "http://", "://", ":", "%", "[::1]:", "127.0.0.1:"])
    return mostly(st.one_of(*forms), odd)


def durations(bounded: bool) -> st.SearchStrategy[str]:
    refused = ["", "-1", "1e-400", "5e-324ms", "nan", "inf", "1e308d", "36501d", "soon", "ms", "+5", "١"]
    good = ["50ms", "0.05", "1e-3", "0.1s"] if bounded else ["0", "1h", "30s", "250ms", "2d", "36500d"]
    return mostly(st.sampled_from(good), st.sampled_from(refused))


def values_for(verb: str, dest: str, ports: Ports) -> st.SearchStrategy[str]:
    """What to give option or positional `dest` of `verb`; every dest is named here, so none gets unsafe values."""
    names = mostly(st.sampled_from(["api", "web.shop", "API", "a-1"]),
                   st.one_of(st.sampled_from(["bad_name", "-x", "a..b", "x" * 64]), ODD))
    pids = mostly(st.sampled_from(["1", str(ports.holder.pid)]), st.sampled_from(["0", "-1", "4194304999", "x", ""]))
    held = verb in ("kill", "who", "ls")
    ranges = st.builds(lambda a, b: f"{a}-{b}", st.sampled_from(["61000", "65530", "0", "70000", "x", "", "5"]),
                       st.sampled_from(["61010", "65535", "3", "80000", "", "y"]))
    table: dict[str, st.SearchStrategy[str]] = {
        "target": targets(ports, names=verb != "doctor", held=held),
        "targets": targets(ports),
        "port": port_values(ports, held),
        "listen": port_values(ports),
        # export --output: places it cannot write, or may not replace; never a file of this machine
        "output": st.sampled_from(["/nonexistent-dir/portside.prom", "/proc/portside.prom", "/dev/null"]),
        "timeout": durations(bounded=verb == "wait"),
        "ttl": durations(bounded=False),
        "pid": pids,
        "owner": pids,
        "process": mostly(st.sampled_from(["python", "python3", "holder.py"]), ODD),
        "name": names,
        "key": st.one_of(names, port_values(ports)),
        "port_range": mostly(ranges, ODD),
        "count": mostly(st.sampled_from(["1", "2", "3"]), st.sampled_from(["0", "-1", "x", "99999", str(2**70), ""])),
        "http": st.sampled_from(["", "200", "404", "999", "ok", "099", "٢٠٠"]),
        "backend": mostly(st.sampled_from(["linux", "portable"]), ODD),
        "shell": mostly(st.sampled_from(["bash", "zsh", "fish"]), ODD),
        "interval": durations(bounded=True),
        "duration": durations(bounded=True),
        "exec_timeout": durations(bounded=True),
        "exec": st.sampled_from(["true", "false", "cat >/dev/null", "exit 3"]),  # never junk into /bin/sh
        "action": mostly(st.sampled_from(["stop", "status"]), ODD.filter(lambda v: v not in ("start", "serve"))),
    }
    if dest not in table:
        raise AssertionError(f"{verb} {dest}: say in values_for which values are safe to give it")
    return table[dest]


def verb_parser(verb: str) -> argparse.ArgumentParser:
    (verbs,) = (a for a in build_parser((verb,))._actions if isinstance(a, argparse._SubParsersAction))
    parser: argparse.ArgumentParser = verbs.choices[verb]
    return parser


# before anything else, so no `--` can make it a positional (and the dashboard never opens a browser)
FIRST: dict[str, list[str]] = {"kill": ["--dry-run"], "dashboard": ["--no-open"]}


@st.composite
def command_lines(draw: st.DrawFn, verb: str, ports: Ports) -> list[str]:
    """`verb` and a fuzzed argv from its parser; --traceback and -h are left to other tests."""
    argv = [verb, *FIRST.get(verb, [])]
    if verb == "wait":
        argv += ["--timeout", draw(durations(bounded=True))]
    positionals: list[list[str]] = []
    words: list[list[str]] = []
    for action in verb_parser(verb)._actions:
        if isinstance(action, argparse._HelpAction) or action.dest in ("traceback", "dry_run"):
            continue
        if verb == "wait" and action.dest == "timeout":
            continue
        if not action.option_strings:  # a positional: once, in four times sometimes left out or more than once
            count = draw(st.integers(0, 3)) if draw(st.integers(0, 3)) == 0 else 1
            positionals.append([draw(values_for(verb, action.dest, ports)) for _ in range(count)])
            continue
        if draw(st.integers(0, 2)):  # an option in three
            continue
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0 or action.nargs == "?" and draw(st.booleans()):
            words.append([flag])
        else:
            words.append([flag, draw(values_for(verb, action.dest, ports))])
    extra = draw(st.sampled_from([[]] * 9 + [["--bogus"], ["stray"], ["--"]]))
    # Positionals in their order, then the options, three times in four; else all mixed up.
    order = positionals + draw(st.permutations(words + [extra])) if draw(st.integers(0, 3)) else \
        draw(st.permutations(positionals + words + [extra]))
    argv += [word for group in order for word in group]
    if verb == "watch":  # last, so a fuzzed --duration cannot make it run long; after a stray `--`, a usage error
        argv += ["--duration", "0.2s"]
    return argv


@pytest.mark.parametrize("verb", FUZZED)
def test_no_argv_makes_a_verb_exit_70(verb: str, cli, ports: Ports, proxy_port: int) -> None:
    assert cli("pick", "--name", "api", "--ttl", "1h").status == 0  # something for `release` and `leases` to find
    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(command_lines(verb, ports))
    def one(argv: list[str]) -> None:
        if FORBIDDEN_PORT in "".join(argv):
            return
        result = cli(*argv)
        assert result.status in (0, 1, 2), result
        assert "Traceback" not in result.stdout + result.stderr and "unexpected error" not in result.stderr, result
        if result.status == 2:
            assert result.stderr.startswith("portside: error: ") and result.stderr.count("\n") == 1, result

    one()


def test_the_fuzz_leaves_out_only_what_it_says() -> None:
    from portside.cli.main import VERBS

    assert sorted(FUZZED + NEVER) == sorted(VERBS)


def test_wait_http_on_a_server_that_hangs_up_is_a_timeout(cli, ports: Ports) -> None:
    """Found by the fuzz: the broken-off exchange ("HTTP failed: ...") was read as a status, exit 70."""
    result = cli("wait", str(ports.listening), "--http", "200", "--timeout", "100ms")
    assert result.status == 1, result.stderr
    assert "timed out" in result.stderr and result.stderr.count("\n") == 1
