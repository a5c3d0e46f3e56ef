"""A non-root caller sees its own sockets' owners and is told what was hidden."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

import pytest
from support import SRC, listeners_on

SYSTEM_PYTHON = "/usr/bin/python3"
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

pytestmark = [pytest.mark.root, pytest.mark.skipif(
    shutil.which("setpriv") is None or not os.access(SYSTEM_PYTHON, os.X_OK),
    reason="needs setpriv (util-linux) and /usr/bin/python3 to run as nobody",
)]


def ls_as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "PORTSIDE_BACKEND": "linux"}
    return subprocess.run(
        [*AS_NOBODY, SYSTEM_PYTHON, "-m", "portside", "ls", *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_nobody_sees_own_owner_and_is_told_about_roots(hold) -> None:
    mine = hold("tcp:127.0.0.1:0", prefix=AS_NOBODY, python=SYSTEM_PYTHON)
    roots = hold("tcp:127.0.0.1:0")
    result = ls_as_nobody("--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (own,) = [r for r in listeners_on(data, mine.port) if mine.pid in [p["pid"] for p in r["processes"]]]
    assert own["processes"][0]["user"] == "nobody"
    hidden = [r for r in listeners_on(data, roots.port) if r["address"] == "127.0.0.1" and not r["processes"]]
    assert len(hidden) == 1
    assert hidden[0]["socket_users"] == ["root"]
    assert hidden[0]["note"].startswith("owner not visible: the open files of ")
    assert any("could not read the open files" in n and "run as root" in n for n in data["notes"])


def test_nobody_plain_output_lists_hidden_socket_and_notes(hold) -> None:
    roots = hold("tcp:127.0.0.1:0")
    result = ls_as_nobody("--port", str(roots.port))
    assert result.returncode == 0
    assert f"127.0.0.1  {roots.port}" in result.stdout
    assert "note: could not read the open files" in result.stderr
    assert "Traceback" not in result.stderr


def test_nobody_is_told_of_hidden_owners_in_one_note_not_one_per_listener(hold) -> None:
    roots = hold(*["tcp:127.0.0.1:0"] * 6)
    result = ls_as_nobody(*(arg for port in roots.ports for arg in ("--port", str(port))))
    assert result.returncode == 0
    assert all(f"127.0.0.1  {port}" in result.stdout for port in roots.ports)
    lines = [line for line in result.stderr.splitlines() if "owner not visible" in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("note: 6 listeners of user root (127.0.0.1:") and " and 3 more): " in lines[0]


def test_nobody_picks_and_lists_leases_in_its_own_store() -> None:
    with tempfile.TemporaryDirectory(prefix="portside-nobody-") as where:
        home = Path(where)
        os.chown(home, 65534, 65534)
        check_nobody_store(home)


def check_nobody_store(home: Path) -> None:
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "PORTSIDE_HOME": str(home)}
    portside = [*AS_NOBODY, SYSTEM_PYTHON, "-m", "portside"]
    picked = subprocess.run([*portside, "pick", "--name", "api", "--json"], capture_output=True, text=True, env=env,
                            timeout=60, check=False)
    assert picked.returncode == 0, picked.stderr
    (lease,) = json.loads(picked.stdout)["ports"]
    assert lease["name"] == "api" and lease["owner_pid"] == os.getpid()
    listed = subprocess.run([*portside, "leases", "--json"], capture_output=True, text=True, env=env, timeout=60,
                            check=False)
    assert [entry["port"] for entry in json.loads(listed.stdout)["leases"]] == [lease["port"]]
    assert (home / "state.db").stat().st_uid == 65534 and (home / "state.db").stat().st_mode & 0o077 == 0


def doctor_as_nobody(*args: str, prefix: list[str] | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"}
    out = subprocess.run([*(prefix or []), *AS_NOBODY, SYSTEM_PYTHON, "-m", "portside", "doctor", *args, "--json"],
                         capture_output=True, text=True, env=env, timeout=60, check=False)
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout)


def test_nobody_doctor_names_a_hidden_owner(hold) -> None:
    roots = hold("tcp:127.0.0.1:0")
    status, report = doctor_as_nobody(f"127.0.0.2:{roots.port}")
    assert status == 1 and [f["code"] for f in report["findings"]] == ["listening-elsewhere"]
    assert f"127.0.0.1:{roots.port} by an owner not visible to you" in report["findings"][0]["observed"]


@pytest.mark.parametrize(("verdict", "code"), [("drop", "firewall-drop"), ("reject with tcp reset", "firewall-reject")])
def test_nobody_doctor_says_the_firewall_was_unreadable(hold, netns, verdict: str, code: str) -> None:
    if shutil.which("nft", path="/usr/sbin:/sbin") is None:
        pytest.skip("nft is not installed (.ci/run installs it)")
    held = hold("tcp:127.0.0.1:0", prefix=netns.prefix())
    script = ("add table inet nobodytest\nadd chain inet nobodytest input { type filter hook input priority 0; }\n"
              f"add rule inet nobodytest input tcp dport {held.port} {verdict}\n")
    subprocess.run([*netns.prefix(), "nft", "-f", "-"], input=script, text=True, check=True)
    status, report = doctor_as_nobody(f"127.0.0.1:{held.port}", prefix=netns.prefix())
    assert status == 1 and [f["code"] for f in report["findings"]] == [code]
    observed = report["findings"][0]["observed"]
    assert f"no rule naming port {held.port} was found (firewall rules unread: nft rules could not be read" in observed
    assert report["findings"][0]["fix"] == f"look for the rule: sudo nft -a list ruleset | grep -w {held.port}"


TUI = """
import asyncio, json, sys
from portside.tui.app import WatchApp

mine, roots = int(sys.argv[1]), int(sys.argv[2])


async def main():
    app = WatchApp(interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(300):
            shown = {app.rows[key].listener.port: app.rows[key].cells for key in app.order}
            if mine in shown and roots in shown and app.notes:
                break
            await pilot.pause(0.05)
    print(json.dumps({"mine": shown.get(mine), "roots": shown.get(roots), "notes": app.notes}))


asyncio.run(main())
"""


def test_nobody_watches_the_table_with_a_note_on_what_is_hidden(hold) -> None:
    """`portside watch` (the Textual app, headless) run as nobody: its own listener with its owner, root's listener
    listed without one, and a note saying why and what to do."""
    mine = hold("tcp:127.0.0.1:0", prefix=AS_NOBODY, python=SYSTEM_PYTHON)
    roots = hold("tcp:127.0.0.1:0")
    packages = sysconfig.get_paths()["purelib"]  # the test venv's Textual and Rich, pure Python
    env = {"PYTHONPATH": f"{SRC}:{packages}", "PATH": "/usr/bin:/bin", "PORTSIDE_BACKEND": "linux", "HOME": "/tmp",
           "TERM": "xterm"}
    done = subprocess.run([*AS_NOBODY, SYSTEM_PYTHON, "-c", TUI, str(mine.port), str(roots.port)],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["mine"][2] == f"python3 {mine.pid}"
    assert seen["roots"][2] == "?"
    assert any("could not read the open files" in note and "run as root" in note for note in seen["notes"])
