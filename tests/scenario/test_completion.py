"""`portside completion bash` really completes in bash, and no other verb pays for shtab at start-up."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Source the script, find the function it registered for `portside`, and call it as bash would for the words given.
COMPLETE = r"""
source "$1"; shift
function=$(complete -p portside | sed -E 's/.* -F ([^ ]+) .*/\1/')
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
"$function" portside "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    out = subprocess.run([sys.executable, "-m", "portside", "completion", "bash"],
                         capture_output=True, text=True, check=True, timeout=60)
    path = tmp_path_factory.mktemp("completion") / "portside.bash"
    path.write_text(out.stdout)
    return path


def complete(script: Path, *words: str) -> list[str]:
    out = subprocess.run(["bash", "-c", COMPLETE, "bash", str(script), "portside", *words],
                         capture_output=True, text=True, check=True, timeout=60)
    assert out.stderr == ""
    return [line for line in out.stdout.splitlines() if line]


@pytest.mark.parametrize(("words", "expected"), [
    (("ki",), ["kill"]),
    (("p",), ["pick", "probe", "proxy"]),
    (("kill", "--d"), ["--dry-run"]),
    (("pick", "--t"), ["--ttl"]),
    (("completion", ""), ["bash", "zsh", "fish"]),
    (("proxy", "st"), ["start", "stop", "status"]),
])
def test_bash_completes_verbs_flags_and_choices(bash_script: Path, words: tuple[str, ...],
                                                expected: list[str]) -> None:
    assert sorted(complete(bash_script, *words)) == sorted(expected)


def imported(*argv: str) -> set[str]:
    """The modules `python -X importtime -m portside ARGV` logs (those imported by `import` statements)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "portside", *argv],
                         capture_output=True, text=True, check=False, timeout=60)
    assert out.returncode == 0, out.stderr
    return {line.rsplit("|", 1)[1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}


def test_only_the_completion_verb_imports_shtab() -> None:
    assert "shtab" in imported("completion", "zsh")
    listing = imported("ls", "--json")
    assert "portside.inventory" in listing
    assert "shtab" not in listing


def test_version_imports_no_verb() -> None:
    """importtime does not log importlib.import_module, so sys.modules is asked after an in-process run."""
    code = ("import sys; from portside.cli.main import main; main(['--version']); "
            "print(' '.join(sorted(name for name in sys.modules if name.startswith('portside.cli.'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.splitlines()[-1].split() == ["portside.cli.environment", "portside.cli.main"]
