"""`--traceback` before or after the verb shows an unexpected error's traceback; without it, one line and exit 70.

The verb is replaced by one that fails as a bug would: what is under test is main's handling
of it, not the verb.
"""

from __future__ import annotations

import argparse

import pytest

from portside.cli.environment import Environment


def broken(args: argparse.Namespace, env: Environment) -> int:
    raise RuntimeError("a bug")


@pytest.fixture(autouse=True)
def _broken_verbs(monkeypatch: pytest.MonkeyPatch) -> None:
    for verb in ("leases", "run"):
        monkeypatch.setattr(f"portside.cli.{verb}.run", broken)


def test_without_it_a_bug_is_one_line_and_exit_70(cli) -> None:
    result = cli("leases")
    assert result.status == 70
    assert result.stderr == "portside: unexpected error: RuntimeError: a bug (rerun with --traceback)\n"


@pytest.mark.parametrize("argv", [["--traceback", "leases"], ["leases", "--traceback"], ["leases", "--json", "--traceback"]])
def test_before_or_after_the_verb_it_raises(cli, argv: list[str]) -> None:
    with pytest.raises(RuntimeError, match="a bug"):
        cli(*argv)


def test_in_runs_command_it_belongs_to_the_command(cli) -> None:
    assert cli("run", "app", "--", "server", "--traceback").status == 70
    with pytest.raises(RuntimeError):
        cli("run", "app", "--traceback", "--", "server")
