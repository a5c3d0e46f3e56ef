"""Helpers of the state-dir tests: the real CLI as a subprocess, scripts in a private mount namespace.

`in_mount_namespace` runs a shell script under `unshare --mount`, so what it mounts (a
tmpfs, an ext4 image, a read-only bind) is seen by nothing outside it and goes away with
it. In the script, `step NAME VERB ARGS...` runs the CLI (killed after STEP_TIMEOUT
seconds: a hang is a failure, never a stuck suite) and keeps its exit status and output;
`integrity FILE NAME` keeps SQLite's integrity check; `skip REASON` skips the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

STEP_TIMEOUT = 30
INTEGRITY = "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])"
# Each step keeps its output in $OUT/STEP.{out,err,rc}; the assertions are made outside.
PRELUDE = f"""set -eu
step() {{ name=$1; shift; timeout -s KILL {STEP_TIMEOUT} "$PY" -m portside "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" \\
  || echo $? >"$OUT/$name.rc"; }}
integrity() {{ "$PY" -c "$INTEGRITY" "$1" >"$OUT/$2.integrity"; }}
skip() {{ echo "$*" >"$OUT/skip"; exit 0; }}
"""


class Step(NamedTuple):
    status: int
    stdout: str
    stderr: str


def portside(home: Path, *argv: str) -> Step:
    """The CLI with PORTSIDE_HOME=`home`, killed after STEP_TIMEOUT seconds."""
    out = subprocess.run([sys.executable, "-m", "portside", *argv], env={**os.environ, "PORTSIDE_HOME": str(home)},
                         capture_output=True, text=True, check=False, timeout=STEP_TIMEOUT)
    return Step(out.returncode, out.stdout, out.stderr)


def in_mount_namespace(tmp_path: Path, script: str, **env: str) -> dict[str, Step]:
    """Run `script` in a private mount namespace with $HOME_DIR (an empty directory, PORTSIDE_HOME) and $PY."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount file systems in a private mount namespace")
    home, out = tmp_path / "home", tmp_path / "out"
    home.mkdir(mode=0o700)
    out.mkdir()
    env = {**os.environ, **env, "PY": sys.executable, "HOME_DIR": str(home), "PORTSIDE_HOME": str(home),
           "OUT": str(out), "INTEGRITY": INTEGRITY, "TMP": str(tmp_path)}
    subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", PRELUDE + script],
                   env=env, check=True, timeout=240)
    if (out / "skip").exists():
        pytest.skip((out / "skip").read_text().strip())
    steps = {}
    for path in out.glob("*.out"):
        rc = path.with_suffix(".rc")
        steps[path.stem] = Step(int(rc.read_text()) if rc.exists() else 0, path.read_text(),
                                path.with_suffix(".err").read_text())
    for path in out.glob("*.integrity"):
        steps[path.name] = Step(0, path.read_text().strip(), "")
    return steps


def assert_one_line(step: Step, *words: str) -> None:
    """Exit 2 with one `portside: error:` line naming `words`, no traceback."""
    assert step.status == 2, step
    assert step.stderr.startswith("portside: error: ") and step.stderr.count("\n") == 1, step.stderr
    assert "Traceback" not in step.stderr
    for word in words:
        assert word in step.stderr, step.stderr


def leased(step: Step) -> list[int]:
    """The leased ports in `leases --json` output."""
    assert step.status == 0, step.stderr
    return [lease["port"] for lease in json.loads(step.stdout)["leases"]]
