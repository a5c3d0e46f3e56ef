"""The command's front door, run in-process: --version, the bare overview, completion scripts."""

from __future__ import annotations

import pytest

from portside._version import __version__
from portside.cli.main import VERBS, build_parser


def test_version_prints_the_version(cli) -> None:
    result = cli("--version")
    assert (result.status, result.stdout, result.stderr) == (0, f"portside {__version__}\n", "")


def test_no_verb_prints_the_overview_of_verbs(cli) -> None:
    result = cli()
    assert (result.status, result.stderr) == (0, "")
    assert result.stdout == build_parser().format_help()
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ") and line[4] != " "]
    assert listed == list(VERBS)


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o bashdefault -F _shtab_portside portside"),
    ("zsh", "#compdef portside"),
    ("fish", "complete -c portside"),
])
def test_completion_script_names_every_verb(cli, shell: str, marker: str) -> None:
    result = cli("completion", shell)
    assert (result.status, result.stderr) == (0, "")
    assert marker in result.stdout
    for verb in VERBS:
        assert verb in result.stdout
    assert "dry-run" in result.stdout


def test_unknown_shell_is_one_usage_line(cli) -> None:
    result = cli("completion", "tcsh")
    assert result.status == 2
    assert result.stderr == ("portside: error: argument SHELL: invalid choice: 'tcsh' "
                             "(choose from 'bash', 'zsh', 'fish')\n")


def test_the_static_overview_says_what_each_verb_module_says() -> None:
    """The overview is built from VERBS without importing a verb; with every module's own parser it reads the same."""
    assert build_parser(()).format_help() == build_parser(VERBS).format_help()
