"""`portside export` and `portside exporter` read by the real thing: Prometheus scrapes the exporter, and
node_exporter's textfile collector reads the file `export --prometheus --output` writes.

Both servers are Debian's, started here on loopback ports with a temporary config and data dir,
and stopped by their pid.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import SRC, needs, unleased_port


def fetch(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        return reply.status, reply.read().decode()
    finally:
        connection.close()


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [(sample.labels, sample.value) for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name == name]


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def servers() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """`start(*argv, **popen)`: processes stopped by their pid after the test."""
    started: list[subprocess.Popen[str]] = []

    def start(*argv: str, **options: Any) -> subprocess.Popen[str]:
        proc = subprocess.Popen(list(argv), text=True, **options)
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        stop(proc)


def start_exporter(start: Callable[..., subprocess.Popen[str]], *flags: str) -> int:
    port = unleased_port()
    proc = start(sys.executable, "-m", "portside", "exporter", "--listen", f"127.0.0.1:{port}", *flags,
                 stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": SRC})
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line == f"portside exporter: serving http://127.0.0.1:{port}/metrics\n", line
    return port


def wait_until(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.mark.servers
def test_prometheus_scrapes_the_exporter_and_answers_for_a_port_we_opened(tmp_path: Path, hold, servers) -> None:
    needs("prometheus")
    held = hold("tcp:127.0.0.1:0", "tcp:0.0.0.0:0")
    loopback, everywhere = held.ports
    exporter = start_exporter(servers)
    web = unleased_port()
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: portside\n    static_configs: [{{targets: ['127.0.0.1:{exporter}']}}]\n")
    servers("prometheus", f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{web}", "--log.level=warn",
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "w"))  # noqa: SIM115

    def query(expression: str) -> list[dict[str, Any]]:
        try:
            status, body = fetch(web, "/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
        except OSError:
            return []
        result: list[dict[str, Any]] = json.loads(body)["data"]["result"] if status == 200 else []
        return result

    (found,) = wait_until(lambda: query(f'portside_listener_info{{port="{loopback}"}}'), 60,
                          "Prometheus has portside_listener_info for the held port")
    assert found["metric"]["exposure"] == "loopback" and found["metric"]["address"] == "127.0.0.1"
    assert found["metric"]["process"].startswith("python") and found["value"][1] == "1"
    # the alert of docs/metrics.md: a listener every network can reach
    exposed = query('portside_listener_info{exposure="all"} == 1')
    assert str(everywhere) in {item["metric"]["port"] for item in exposed}
    assert loopback not in {int(item["metric"]["port"]) for item in exposed}
    assert query('up{job="portside"}')[0]["value"][1] == "1"


@pytest.mark.servers
def test_node_exporter_reads_the_textfile(tmp_path: Path, cli, hold, servers) -> None:
    needs("prometheus-node-exporter")
    held = hold("tcp:[::1]:0")
    folder = tmp_path / "textfile"
    folder.mkdir()
    done = cli("export", "--prometheus", "--output", str(folder / "portside.prom"))
    assert (done.status, done.stdout, done.stderr) == (0, "", "")
    assert [path.name for path in folder.iterdir()] == ["portside.prom"]  # no temporary file left
    port = unleased_port()
    servers("prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
            "--collector.textfile", f"--collector.textfile.directory={folder}",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def scrape() -> str:
        try:
            status, body = fetch(port, "/metrics")
        except OSError:
            return ""
        return body if status == 200 else ""

    text = wait_until(scrape, 20, "node_exporter answers /metrics")
    assert samples(text, "node_textfile_scrape_error") == [({}, 0.0)]
    ours = [labels for labels, value in samples(text, "portside_listener_info") if labels["port"] == str(held.port)
            and labels["address"] == "::1"]
    assert ours == [{"protocol": "tcp", "address": "::1", "port": str(held.port), "exposure": "loopback",
                     "process": ours[0]["process"], "container": ""}]


def test_the_exporter_counts_bytes_and_connections(servers, webapp) -> None:
    app = webapp("127.0.0.1")
    exporter = start_exporter(servers)

    def moved() -> dict[str, float]:
        status, text = fetch(exporter, "/metrics")
        assert status == 200
        return {labels["direction"]: value for labels, value in samples(text, "portside_listener_bytes_total")
                if labels["port"] == str(app.port)}

    before = moved()
    request = b"GET / HTTP/1.0\r\nHost: x\r\n\r\n"
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    connection.request("GET", "/", headers={"X-Pad": "x" * 1000})
    connection.getresponse().read()
    connection.close()

    def counted() -> dict[str, float] | None:
        now = moved()
        return now if now["in"] > before["in"] + len(request) + 1000 else None

    after = wait_until(counted, 10, "the request's bytes are counted")
    assert after["out"] > before["out"]


def test_the_exporter_answers_only_metrics(servers) -> None:
    exporter = start_exporter(servers, "--no-traffic")
    assert fetch(exporter, "/nothing")[0] == 404
    status, text = fetch(exporter, "/metrics")
    assert status == 200 and samples(text, "portside_listeners")


def test_ndjson_is_ls_json_one_per_line(cli, hold) -> None:
    held = hold("udp:127.0.0.1:0")
    done = cli("export", "--ndjson")
    assert done.status == 0 and done.stdout.endswith("\n")
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    ours = [row for row in rows if row["port"] == held.port and row["protocol"] == "udp"]
    assert len(ours) == 1 and list(ours[0]) == list(cli("ls", "--json").json()["listeners"][0])
    assert all(list(row) == list(ours[0]) for row in rows)


@pytest.mark.parametrize(("argv", "says"), [
    (("exporter", "--listen", "0.0.0.0:9917"), "--allow-remote"),
    (("exporter", "--listen", "localhost:9917"), "not an IP address"),
    (("export",), "--prometheus --ndjson"),
    (("export", "--prometheus", "--output", "/nonexistent-dir/x.prom"), "cannot write"),
    (("export", "--ndjson", "--output", "/dev/null"), "not a regular file"),
])
def test_bad_input_is_one_line(cli, argv: tuple[str, ...], says: str) -> None:
    done = cli(*argv)
    assert done.status == 2 and says in done.stderr and done.stderr.count("\n") == 1, done


def test_the_docs_alerting_rule_passes_promtool(tmp_path: Path) -> None:
    needs("promtool")
    text = (Path(SRC).parent / "docs" / "metrics.md").read_text()
    rules = text.split("```yaml\ngroups:", 1)[1].split("```", 1)[0]
    (tmp_path / "rules.yml").write_text("groups:" + rules)
    done = subprocess.run(["promtool", "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and "SUCCESS: 1 rules found" in done.stdout, done.stdout + done.stderr
