"""rules/replacements.toml: TPU101's op-specific fixes (what to use instead of an unsupported op)."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, corpus_or_skip

from tpulint._schema_data import BUILTIN_OPERATORS
from tpulint.analyze import analyze_path
from tpulint.context import Target
from tpulint.ruledata import cpu_only_ops, messages, op_table, replacements

CUSTOM_CODES = {"TFLite_Detection_PostProcess"}


def test_every_entry_is_an_op_tpu101_reports_and_cites_a_source() -> None:
    import tomllib

    from tpulint.ruledata import rules_dir

    entries = tomllib.loads((rules_dir() / "replacements.toml").read_text(encoding="utf-8"))["replace"]
    builtins = set(BUILTIN_OPERATORS.values())
    ops = [op for entry in entries for op in entry["ops"]]
    assert len(ops) == len(set(ops)), "an op with two pieces of advice"
    for entry in entries:
        assert entry["fix"].strip() and entry["sources"], f"{entry['ops']}: needs a fix and its sources"
        for op in entry["ops"]:
            assert op in builtins or op in CUSTOM_CODES, f"{op}: not a TFLite builtin op or a known custom code"
            # TPU101 fires only for ops outside the op table (and not left to a more specific rule).
            assert op not in op_table() and op not in cpu_only_ops(), f"{op}: TPU101 never reports it"
    assert set(replacements()) == set(ops)


def test_a_real_leaky_relu_gets_the_specific_fix() -> None:
    rep = analyze_path(FIXTURES / "unsupported_mid.tflite", Target())
    (f,) = [f for f in rep.findings if f.code == "TPU101"]
    assert f.opcode == "LEAKY_RELU"
    assert f.fix == replacements()["LEAKY_RELU"] != messages()["TPU101"]["fix"]
    assert "PReLU" in f.fix


def test_an_op_without_an_entry_keeps_the_generic_fix() -> None:
    rep = analyze_path(FIXTURES / "rule_TPU113_flex.tflite", Target())
    flex = [f for f in rep.findings if f.code == "TPU101"]
    assert flex and all(f.fix == messages()["TPU101"]["fix"] for f in flex)


def test_corpus_gathers_and_ssd_postprocess_get_their_fixes() -> None:
    corpus = corpus_or_skip()
    seen: dict[str, str] = {}
    for p in sorted(corpus.rglob("*.tflite")):
        if p.name.endswith("_edgetpu.tflite"):
            continue
        rep = analyze_path(p, Target())
        for f in rep.findings:
            if f.code == "TPU101":
                key = f.opcode if f.opcode != "CUSTOM" else (f.observed.split("'")[1] if "'" in f.observed else "")
                seen.setdefault(key, f.fix or "")
    if "GATHER" not in seen:
        pytest.skip("no GATHER in this corpus")
    assert seen["GATHER"].startswith("Do the lookup on the CPU")
    for op, fix in seen.items():
        assert fix == replacements().get(op, messages()["TPU101"]["fix"]), op
