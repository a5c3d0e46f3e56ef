"""docs/api.md runs as written: every public function, against real sockets and processes."""

from __future__ import annotations

import doctest
import inspect
import re
from pathlib import Path

import pytest

import portside

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_the_api_examples_run() -> None:
    failures, tried = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert tried > 40
    assert failures == 0


def test_every_public_function_has_an_example() -> None:
    examples = "\n".join(line for line in DOC.read_text().splitlines() if line.startswith((">>> ", "... ")))
    functions = [name for name in portside.__all__ if inspect.isfunction(getattr(portside, name))]
    missing = [name for name in functions if not re.search(rf"portside\.{name}\(", examples)]
    assert len(functions) >= 13 and not missing


@pytest.mark.parametrize("name", [name for name in portside.__all__ if inspect.isfunction(getattr(portside, name))])
def test_options_are_keyword_only(name: str) -> None:
    parameters = list(inspect.signature(getattr(portside, name)).parameters.values())
    positional = [p.name for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert positional in ([], ["target"], ["targets"], ["key"], ["port"], ["count"]), positional
