"""Every rule: one code, a name, a severity, a complete doc string; docs/rules.md is generated from it."""

from __future__ import annotations

import re
from pathlib import Path

from tpulint.docs import rules_markdown
from tpulint.registry import all_rules
from tpulint.ruledata import message_for, statuses

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = (
    "## What it does",
    "## Why it matters on the Edge TPU",
    "## Example",
    "## How to fix",
    "## Compiler status",
    "## Sources",
)


def test_every_rule_is_documented() -> None:
    rules = all_rules()
    assert len(rules) >= 20
    for code, r in rules.items():
        assert re.fullmatch(r"TPU[1-9]\d\d", code)
        assert re.fullmatch(r"[a-z0-9-]+", r.name), code
        for s in SECTIONS:
            assert s in r.doc, f"{code} doc lacks {s!r}"
        msg, fix = message_for(code)
        assert msg and fix, f"{code} has no message/fix in rules/messages.toml"
        if r.status is not None:
            assert r.status in statuses(), code


def test_rule_names_unique() -> None:
    names = [r.name for r in all_rules().values()]
    assert len(names) == len(set(names))


def test_docs_rules_md_is_current() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_markdown(), "docs/rules.md is stale: run `python -m tpulint.docs > docs/rules.md`"


def test_readme_rules_table_is_current() -> None:
    from tpulint.docs import readme_with_rules

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == readme_with_rules(readme), "README rules table is stale: run `python -m tpulint.docs --readme`"


def test_messages_toml_has_no_orphans() -> None:
    import tomllib

    data = tomllib.loads((ROOT / "rules" / "messages.toml").read_text())
    assert set(data) <= set(all_rules()), set(data) - set(all_rules())


def test_every_op_table_check_has_a_predicate() -> None:
    """Each `checks` name in rules/edgetpu_ops.toml is consumed by a rule in tpulint/checks/."""
    from tpulint.ruledata import op_table

    source = "\n".join(p.read_text() for p in (ROOT / "tpulint" / "checks").glob("*.py"))
    names = {c for spec in op_table().values() for c in spec.checks}
    assert names
    missing = sorted(n for n in names if f'"{n}"' not in source)
    assert not missing, f"op-table checks without a predicate: {missing}"


def test_rule_dispatch_declarations_match_the_predicates() -> None:
    """A rule that declares which ops it concerns must not fire on any other op (checked on every
    op of every fixture and in-memory rule model by running it on all ops regardless)."""
    from builders import O, build, conv_chain
    from conftest import FIXTURES

    from tpulint.context import OpContext, Target
    from tpulint.graph import Graph
    from tpulint.model import load_model, parse_model
    from tpulint.registry import Scope

    models = [load_model(p) for p in sorted(FIXTURES.glob("*.tflite"))]
    models.append(parse_model(build(conv_chain(O("RELU", ["a"], ["b"])))))
    scoped = [r for r in all_rules().values() if r.scope is Scope.OP and (r.checks or r.opcodes or r.when)]
    assert len(scoped) >= 13
    assert {"TPU101", "TPU401", "TPU403"} <= {r.code for r in scoped if r.when}
    # Targets that make the `when` tests differ: old runtimes (TPU401), compilers leaving versions
    # unmapped (TPU403).
    targets = [Target(), Target(compiler="14.1", runtime=10), Target(compiler="2.0"), Target(compiler="1.0")]
    seen = 0
    skipped: set[str] = set()
    for m in models:
        g = Graph.build(m, m.subgraphs[0])
        for op in m.subgraphs[0].ops:
            for target in targets:
                ctx = OpContext.make(g, op, target)
                for r in scoped:
                    if not r.concerns(op.opcode, ctx.spec, target):
                        assert list(r.run(ctx)) == [], (r.code, op.opcode, target)
                        seen += 1
                        if r.concerns(op.opcode, ctx.spec):
                            skipped.add(r.code)  # skipped for this target only
    assert seen > 100
    assert {"TPU101", "TPU401", "TPU403"} <= skipped
