"""Every verdict, finding code and policy key of `portside audit` is described in README.md and docs/json.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from portside.auditing.policy import KEYS
from portside.auditing.sarif import RULES
from portside.auditing.verdicts import Verdict

ROOT = Path(__file__).resolve().parents[2]
DOCS = {name: (ROOT / name).read_text() for name in ("README.md", "docs/json.md")}


@pytest.mark.parametrize("name", DOCS)
def test_every_verdict_code_and_policy_key_is_documented(name: str) -> None:
    text = DOCS[name]
    words = [*(f"`{v.value}`" for v in Verdict), *(f"`{code}`" for code in RULES), *(f"`{key}`" for key in KEYS)]
    assert [word for word in words if word not in text] == []


def test_every_code_the_rules_give_has_a_sarif_rule() -> None:
    sources = "".join(path.read_text() for path in (ROOT / "src" / "portside" / "auditing").glob("*.py"))
    codes = set(re.findall(r'Finding\(\s*"([a-z-]+)"', sources))
    assert codes and codes <= set(RULES), codes - set(RULES)
