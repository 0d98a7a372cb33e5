"""`--format compiler-log`: the prediction in the compiler's own layout, diffable with a real log.

The text must parse with the same parser that reads real compiler output, and for every corpus
case with a real log its (operator, status) table must equal the real one.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURES
from typer.testing import CliRunner

from tpulint.cli import app
from tpulint.compiler.logparse import parse_compiler_output
from tpulint.corpus import target_for

runner = CliRunner()


def _table(rows) -> Counter[tuple[str, str]]:  # type: ignore[no-untyped-def]
    c: Counter[tuple[str, str]] = Counter()
    for r in rows:
        c[(r.operator, r.status)] += r.count
    return c


def test_compiler_log_layout_round_trips_through_the_log_parser() -> None:
    r = runner.invoke(app, ["check", "-f", "compiler-log", str(FIXTURES / "unsupported_mid.tflite")])
    assert r.exit_code == 1
    out = parse_compiler_output(r.stdout)
    assert out.compiler_version == "16.0.384591198"
    assert out.edgetpu_subgraphs == 1 and out.total_ops == 4
    assert out.ops_on_tpu == 1 and out.ops_on_cpu == 3
    # the three memory lines are the memory model's prediction (models[].memory)
    mem = json.loads(runner.invoke(app, ["check", "-f", "json", str(FIXTURES / "unsupported_mid.tflite")]).stdout)[
        "models"
    ][0]["memory"]
    for got, key in (
        (out.on_chip_used, "on_chip_used_bytes"),
        (out.on_chip_remaining, "on_chip_remaining_bytes"),
        (out.off_chip_used, "off_chip_bytes"),
    ):
        assert got is not None and abs(got - mem[key]) <= 0.01 * max(mem[key], 1024), key
    assert _table(out.operator_table) == Counter(
        {
            ("CONV_2D", "Mapped to Edge TPU"): 1,
            ("LEAKY_RELU", "Operation not supported"): 1,
            ("CONV_2D", "More than one subgraph is not supported"): 2,
        }
    )
    # the table rows use the compiler's column layout: operator in 31 characters, count in 11
    line = next(x for x in r.stdout.splitlines() if x.startswith("LEAKY_RELU"))
    assert line == f"{'LEAKY_RELU':<31}{'1':<11}Operation not supported"


def test_compile_error_prints_the_compilers_error_text() -> None:
    r = runner.invoke(
        app, ["check", "-f", "compiler-log", "--compiler-version", "14.1", str(FIXTURES / "float_cnn.tflite")]
    )
    assert "Model not quantized" in r.stdout
    out = parse_compiler_output(r.stdout)
    assert out.error_kind == "not_quantized"


def test_predicted_log_equals_every_real_log(corpus: Path) -> None:
    checked = 0
    for truth_file in sorted(corpus.glob("*/truth.json")):
        truth = json.loads(truth_file.read_text())
        if truth.get("kind") != "pair" or not (truth.get("log") or {}).get("operator_table"):
            continue
        target, _ = target_for(truth)
        args = [
            "check",
            "-f",
            "compiler-log",
            "--compiler-version",
            target.compiler,
            "--runtime",
            str(target.effective_runtime),
        ]
        if target.multiple_subgraphs:
            args.append("-a")
        model = truth_file.parent / truth["files"]["input"]["name"]
        r = runner.invoke(app, [*args, str(model)])
        predicted = _table(parse_compiler_output(r.stdout).operator_table)
        real: Counter[tuple[str, str]] = Counter()
        for row in truth["log"]["operator_table"]:
            real[(row["operator"], row["status"])] += int(row["count"])
        assert predicted == real, truth["case"]
        checked += 1
    if checked == 0:
        pytest.skip("no corpus case with a log")
    assert checked >= 19
