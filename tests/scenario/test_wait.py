"""`portside wait`: real listeners appearing, vanishing, answering HTTP, on either loopback family."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import hosts_prefix, needs, unleased_port

from portside.net.addresses import parse_target
from portside.probing.wait import HttpExpectation, wait_for


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[int]:
    """Python's http.server on 127.0.0.1, serving a directory with index.html."""
    (tmp_path / "index.html").write_text("<h1>hello</h1>")
    port = unleased_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    waited = wait_for([("s", parse_target(f"127.0.0.1:{port}"))], timeout=10)
    assert waited[0].ready
    yield port
    proc.kill()
    proc.wait()


def resolved_in(prefix: list[str], name: str) -> list[str]:
    """What getaddrinfo (glibc, as Python and Node use it) answers for `name` under `prefix`."""
    code = f"import socket; print(' '.join(sorted({{a[4][0] for a in socket.getaddrinfo({name!r}, 1)}})))"
    out = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.root
@pytest.mark.parametrize(("hosts", "spec", "address"), [
    ("127.0.0.1 localhost\n", "tcp:[::1]:{}", "::1"),
    ("::1 localhost\n", "tcp:127.0.0.1:{}", "127.0.0.1"),
])
def test_localhost_is_dialled_on_both_families_whatever_etc_hosts_says(hold, tmp_path: Path, hosts: str, spec: str,
                                                                       address: str) -> None:
    """/etc/hosts (replaced in a mount namespace) names one family; the server listens on the other alone."""
    port = unleased_port()
    hold(spec.format(port))
    prefix = hosts_prefix(tmp_path, hosts)
    assert address not in resolved_in(prefix, "localhost")  # the premise: getaddrinfo alone would miss the server
    out = subprocess.run([*prefix, sys.executable, "-m", "portside", "wait", f"localhost:{port}", "--timeout", "5",
                          "--json"], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    (entry,) = json.loads(out.stdout)["targets"]
    assert entry["ready"] and entry["address"] == address


@pytest.mark.parametrize("spec", ["tcp:127.0.0.1:{}", "tcp:[::1]:{}"])
def test_localhost_is_dialled_on_both_families(cli, hold, spec: str) -> None:
    port = unleased_port()
    hold(spec.format(port))
    result = cli("wait", f"localhost:{port}", "--timeout", "5", "--json")
    assert result.status == 0
    (entry,) = result.json()["targets"]
    assert entry["ready"] and entry["address"] == ("::1" if "::1" in spec else "127.0.0.1")


def test_a_listener_that_appears_later_is_seen_quickly(cli, hold) -> None:
    port = unleased_port()
    appeared: list[float] = []

    def later() -> None:
        time.sleep(0.3)
        hold(f"tcp:127.0.0.1:{port}")
        appeared.append(time.monotonic())

    thread = threading.Thread(target=later)
    thread.start()
    result = cli("wait", str(port), "--timeout", "10")
    done = time.monotonic()
    thread.join()
    assert result.status == 0 and result.stdout.startswith(f"{port}: accepting on 127.0.0.1 after ")
    assert done - appeared[0] < 0.5


def test_timeout_says_what_it_last_saw(cli) -> None:
    port = unleased_port()
    began = time.monotonic()
    result = cli("wait", f"localhost:{port}", "--timeout", "0.3")
    assert 0.3 <= time.monotonic() - began < 2
    assert result.status == 1
    assert result.stderr == (
        f"portside: timed out after 0.3 s waiting for localhost:{port} to accept "
        "(last seen: ::1 refused, 127.0.0.1 refused)\n"
    )


def test_json_timeout_is_a_document_and_exit_1(cli) -> None:
    port = unleased_port()
    result = cli("wait", f"[::1]:{port}", "--timeout", "0.1", "--json")
    assert result.status == 1 and result.stderr == ""
    assert result.json()["targets"] == [
        {"target": f"[::1]:{port}", "ready": False, "address": None, "elapsed_s": pytest.approx(0.1, abs=0.1),
         "seen": {"::1": "refused"}}
    ]


def test_closed_waits_until_nothing_accepts(cli, hold) -> None:
    port = unleased_port()
    held = hold(f"tcp:127.0.0.1:{port}", f"tcp:[::1]:{port}")
    assert cli("wait", f"localhost:{port}", "--closed", "--timeout", "0.2").status == 1
    threading.Timer(0.3, held.proc.kill).start()
    result = cli("wait", f"localhost:{port}", "--closed", "--timeout", "10")
    assert result.status == 0 and result.stdout.startswith(f"localhost:{port}: closed after ")


def test_several_targets_all_must_be_ready(cli, hold) -> None:
    first, second = unleased_port(), unleased_port()
    hold(f"tcp:127.0.0.1:{first}")
    assert cli("wait", str(first), str(second), "--timeout", "0.2").status == 1
    threading.Timer(0.2, lambda: hold(f"tcp:[::1]:{second}")).start()
    result = cli("wait", str(first), str(second), "--timeout", "10")
    assert result.status == 0 and len(result.stdout.splitlines()) == 2


def test_http_default_wants_2xx_or_3xx(cli, http_server: int) -> None:
    result = cli("wait", f"http://localhost:{http_server}/", "--http", "--json", "--timeout", "5")
    (entry,) = result.json()["targets"]
    assert result.status == 0 and entry["seen"]["127.0.0.1"] == "HTTP 200"


def test_http_status_and_path_are_honoured(cli, http_server: int) -> None:
    assert cli("wait", f"http://localhost:{http_server}/missing", "--http", "404", "--timeout", "5").status == 0
    result = cli("wait", f"http://localhost:{http_server}/missing", "--http", "200", "--timeout", "0.3")
    assert result.status == 1 and "127.0.0.1 HTTP 404" in result.stderr


def test_http_against_a_silent_tcp_listener_times_out_with_the_reason(cli, hold) -> None:
    port = unleased_port()
    hold(f"tcp:127.0.0.1:{port}")
    result = cli("wait", f"127.0.0.1:{port}", "--http", "--timeout", "0.4")
    assert result.status == 1 and "no HTTP answer in time" in result.stderr


def test_an_address_with_an_unknown_zone_is_unreachable_not_a_crash(cli) -> None:
    # No packet leaves: the kernel cannot even try an interface that does not exist.
    result = cli("wait", "[fe80::1%nosuch]:9", "--timeout", "0.1", "--json")
    assert result.status == 1 and result.stderr == ""
    assert result.json()["targets"][0]["seen"] == {"fe80::1%nosuch": "unreachable"}


def test_library_reports_every_address() -> None:
    port = unleased_port()
    (waited,) = wait_for([("x", parse_target(f"localhost:{port}"))], timeout=0.05, http=HttpExpectation())
    assert not waited.ready and waited.seen == {"::1": "refused", "127.0.0.1": "refused"}


REDIRECTED = """
set -e
ip link set lo up
nft 'add table ip waittest; add chain ip waittest out {{ type nat hook output priority -100; }}; add rule ip waittest out tcp dport {port} redirect to :{real}'
(sleep 0.4; exec {python} -c 'import socket, time; s = socket.create_server(("127.0.0.1", {real})); time.sleep(2)') \
    >/dev/null 2>&1 &
exec {python} -m portside wait 127.0.0.1:{port} --timeout 5 --json
"""


@pytest.mark.root
def test_a_port_only_a_nat_redirect_serves_is_seen(tmp_path: Path) -> None:
    """Nothing listens on the port itself: loopback traffic to it is redirected (nftables, in a network namespace of
    the test's own) to a listener that appears later. The kernel's socket tables show no listener there, so only the
    rounds that dial every address see it; they come often enough."""
    needs("unshare", "nft")
    port, real = 20480, 20481
    script = REDIRECTED.format(port=port, real=real, python=sys.executable)
    out = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=30,
                         check=False)
    assert out.returncode == 0, out.stderr
    (entry,) = json.loads(out.stdout)["targets"]
    assert entry["ready"] and entry["address"] == "127.0.0.1"
    assert entry["elapsed_s"] < 1.5  # the server appears 0.4 s in; a round that dials everything comes every 0.1 s
