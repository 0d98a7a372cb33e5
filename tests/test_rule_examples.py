"""Rule docs: every rule has a bad and a good example, and `tpulint rule CODE` shows every part."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tpulint.cli import app
from tpulint.docs import doc_section, rule_markdown, rules_markdown
from tpulint.registry import all_rules

runner = CliRunner()


@pytest.mark.parametrize("code", sorted(all_rules()))
def test_example_has_bad_and_good(code: str) -> None:
    r = all_rules()[code]
    example = doc_section(r.doc, "Example")
    assert "**Bad:**" in example and "**Good:**" in example, f"{code}: Example needs **Bad:** and **Good:**"
    assert example.index("**Bad:**") < example.index("**Good:**")
    assert example.count("```") % 2 == 0, f"{code}: unbalanced code fence"


def test_rule_command_shows_every_part() -> None:
    r = runner.invoke(app, ["rule", "TPU110"])
    assert r.exit_code == 0
    out = r.stdout
    for part in ("# TPU110 prelu-alpha", "What it does", "Why it matters on the Edge TPU", "**Bad:**", "**Good:**",
                 "How to fix", "Compiler status", "Operation is otherwise supported", "Sources"):
        assert part in out, part
    assert out == rule_markdown(all_rules()["TPU110"])


def test_rules_md_headings_nest() -> None:
    md = rules_markdown()
    assert "\n## TPU101 op-not-supported\n" in md and "\n### What it does\n" in md and "\n#### " not in md
