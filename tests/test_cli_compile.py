"""End to end: `tpulint compile` and `tpulint check --confirm`, driving the stand-in compiler.

The stand-in (tests/stand_in_compiler/edgetpu_compiler) does not compile: it replays output that
Google's REAL compiler printed and wrote for a REAL model, and copies that run's REAL compiled
model (its doc string says per scenario what is recorded and what is composed). So each test
below gives it the model that recorded run was made from, and tpulint's REAL prediction for that
model is compared with the REAL compiler's result for it:

* `success`: ASR_Model.tflite (MIT, fixtures/compiled/asr_model_v2compiler), compiler 2.0, every
  op mapped; tpulint predicts the same, so the confirmation matches.
* `partial`: N32-nMACs41287680_quant.tflite, compiler 16.0, QUANTIZE left on the CPU; tpulint
  predicts the same (2 of 3 ops, first CPU op #0 QUANTIZE), so it matches. That repository has no
  licence: the files are read from ../shared/corpus (skipped without it), never copied here.
* `recorded`: the fully recorded 16.0 console (`-d`) of the corpus case retinanet_fpn_not_padded,
  with its input model from ../shared/corpus: 134 of 134 ops mapped, as predicted.

A mismatch is produced honestly in two ways: predicting for another compiler than the one that
runs (`check --confirm --compiler-version 1.0`: tpulint's real prediction for compiler 1.0 maps
nothing, the 16.0 run maps 2 ops), and drifting tpulint's own rules in-process (SOFTMAX removed
from the op table) so that the prediction no longer matches the compiler, which is exactly what
TPU950 exists to catch.

Failure scenarios replay recorded failures of models we do not have; the tests say which result
that gives and check that it is reported cleanly.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from tpulint.cli import app

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the stand-in compiler is a POSIX script")

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"
SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
STAND_IN_DIR = Path(__file__).resolve().parent / "stand_in_compiler"
STAND_IN = STAND_IN_DIR / "edgetpu_compiler"
SCHEMA = json.loads((ROOT / "tpulint" / "schema" / "report.schema.json").read_text())
ASR_IN = FIX / "compiled" / "asr_model_v2compiler" / "ASR_Model.tflite"
ASR_OUT = FIX / "compiled" / "asr_model_v2compiler" / "ASR_Model_edgetpu.tflite"
N32_DIR = CORPUS / "jorgitou_conv_N32"  # no licence: testing only, never copied into fixtures/
N32_IN = N32_DIR / "N32-nMACs41287680_quant.tflite"
N32_OUT = N32_DIR / "N32-nMACs41287680_quant_edgetpu.tflite"
RETINA_IN = CORPUS / "retinanet_fpn_not_padded" / "mobile_retina_net_not_padded.tflite"

runner = CliRunner()
Scenario = Callable[..., Path]


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corpus_model(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path.name} not found in {path.parent} (the unlicensed corpus cases are read from ../shared)")
    return path


@pytest.fixture
def scenario(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Scenario:
    """Choose the stand-in's scenario; the stand-in reads the corpus from $STAND_IN_CORPUS."""
    argv_file = tmp_path / "argv.json"
    monkeypatch.setenv("STAND_IN_ARGV_FILE", str(argv_file))
    monkeypatch.setenv("STAND_IN_CORPUS", str(CORPUS))
    monkeypatch.delenv("TPULINT_EDGETPU_COMPILER", raising=False)
    for var in ("STAND_IN_EXIT", "STAND_IN_VERSION", "STAND_IN_SLEEP"):
        monkeypatch.delenv(var, raising=False)

    def set_scenario(name: str, **extra: str) -> Path:
        monkeypatch.setenv("STAND_IN_SCENARIO", name)
        for k, v in extra.items():
            monkeypatch.setenv(k, v)
        return argv_file

    return set_scenario


def copy_to(tmp_path: Path, src: Path) -> Path:
    """A private copy of a model (outputs may be written beside it)."""
    dst = tmp_path / "models" / src.name
    dst.parent.mkdir(exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def confirmation(out: str, i: int = 0) -> dict[str, Any]:
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    block = doc["models"][i]["confirmation"]
    assert block is not None
    return block


# --- tpulint compile: success ------------------------------------------------------------------------


def test_compile_success_json(scenario: Scenario, tmp_path: Path) -> None:
    scenario("success")
    model = copy_to(tmp_path, ASR_IN)
    before = sha(model)
    out_dir = tmp_path / "out"
    code, out, err = run("compile", str(model), "--compiler", str(STAND_IN), "--out-dir", str(out_dir), "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    m = doc["models"][0]
    c = m["confirmation"]
    assert c["status"] == "match" and c["disagreements"] == [] and c["error"] is None
    assert c["compiler"]["version"] == "2.0.291256449" and c["compiler"]["modeled_as"] == "2.0"
    assert m["compiler"] == "2.0" and c["predicted"]["compiler"] == "2.0"
    run_ = c["run"]
    assert run_["success"] and run_["exit_code"] == 0 and run_["edgetpu_subgraphs"] == 1
    assert sum(r["count"] for r in run_["operator_table"]) == 12
    assert {r["status"] for r in run_["operator_table"]} == {"Mapped to Edge TPU"}
    assert c["actual"]["outcome"] == "full" and c["actual"]["ops_tpu"] == 12 and c["actual"]["cpu_op_indices"] == []
    # From the real compiled model's DWN1 package (fixtures/compiled/asr_model_v2compiler).
    assert c["actual"]["min_runtime_version"] == 12 == c["predicted"]["package_runtime"]
    assert (c["actual"]["cached_param_bytes"], c["actual"]["streamed_param_bytes"]) == (102080, 3072)
    assert c["outputs"]["dir"] == str(out_dir) and not c["outputs"]["temporary"]
    assert c["outputs"]["compiled_models"] == [str(out_dir / "ASR_Model_edgetpu.tflite")]
    assert sha(out_dir / "ASR_Model_edgetpu.tflite") == sha(ASR_OUT)  # the real compiled model
    assert (out_dir / "ASR_Model_edgetpu.log").read_text().startswith("Edge TPU Compiler version 2.0.291256449")
    assert not any(f["code"] == "TPU950" for f in m["findings"])
    assert sha(model) == before and sorted(p.name for p in model.parent.iterdir()) == [model.name]


def test_compile_package_runtime_is_compared(scenario: Scenario, tmp_path: Path) -> None:
    """The stand-in ignores -m and replays the real model compiled with the default -m (package
    runtime 12); a prediction for -m 11 expects a runtime-11 package, so the diff names it."""
    scenario("success")
    model = copy_to(tmp_path, ASR_IN)
    out_dir = tmp_path / "out"
    code, out, _ = run(
        "compile", str(model), "--compiler", str(STAND_IN), "--out-dir", str(out_dir), "-f", "json", "--runtime", "11"
    )
    c = confirmation(out)
    assert code == 3 and c["status"] == "mismatch"
    (d,) = c["disagreements"]
    assert d["kind"] == "runtime" and (d["predicted"], d["actual"]) == (11, 12)
    assert "a device with the target runtime would refuse it" in d["message"]


def test_compile_text_reports_the_parsed_result_and_a_temp_dir(scenario: Scenario, tmp_path: Path) -> None:
    scenario("success")
    model = copy_to(tmp_path, ASR_IN)
    code, out, err = run("compile", str(model), "--compiler", str(STAND_IN))
    assert code == 0, err
    assert "edgetpu_compiler 2.0.291256449" in out and "exit 0" in out
    assert "result: compiled successfully (full): 12 of 12 ops on the Edge TPU" in out
    assert "Operator" in out and "MAX_POOL_2D" in out and "Mapped to Edge TPU" in out
    assert "1 edgetpu-custom-op; CPU ops: none" in out
    assert "confirmation: the real compiler agrees with the prediction" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("outputs: "))
    assert "a temporary directory" in line
    temp = Path(line.split()[1])
    try:
        assert sha(temp / "ASR_Model_edgetpu.tflite") == sha(ASR_OUT)
        assert sorted(p.name for p in model.parent.iterdir()) == [model.name]  # nothing beside the input
    finally:
        shutil.rmtree(temp)


def test_compile_found_on_path(scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario("success")
    monkeypatch.setenv("PATH", f"{STAND_IN_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    code, out, err = run("compile", str(ASR_IN), "--out-dir", str(tmp_path / "out"), "-f", "json")
    assert code == 0, err
    assert confirmation(out)["compiler"]["path"] == str(STAND_IN.resolve())


def test_compile_uses_the_configured_compiler(scenario: Scenario, tmp_path: Path) -> None:
    """With no --compiler, `compile` takes the `compiler` key of the nearest tpulint.toml."""
    scenario("success")
    model = copy_to(tmp_path, ASR_IN)
    (model.parent / "tpulint.toml").write_text(f'compiler = "{STAND_IN}"\n')
    code, out, err = run("compile", str(model), "--out-dir", str(tmp_path / "out"), "-f", "json")
    assert code == 0, err
    assert json.loads(out)["models"][0]["confirmation"]["compiler"]["version"] == "2.0.291256449"


def test_compile_write_beside_never_touches_the_input(scenario: Scenario, tmp_path: Path) -> None:
    scenario("success")
    model = copy_to(tmp_path, ASR_IN)
    before, mtime = sha(model), model.stat().st_mtime_ns
    code, _, err = run("compile", str(model), "--compiler", str(STAND_IN), "--write")
    assert code == 0, err
    assert sorted(p.name for p in model.parent.iterdir()) == sorted(
        [model.name, "ASR_Model_edgetpu.tflite", "ASR_Model_edgetpu.log"]
    )
    assert sha(model) == before and model.stat().st_mtime_ns == mtime
    code, _, err = run("compile", str(model), "--compiler", str(STAND_IN), "--write", "--out-dir", str(tmp_path))
    assert code == 2 and "exclude each other" in err


def test_existing_output_kept_without_force(scenario: Scenario, tmp_path: Path) -> None:
    argv_file = scenario("success")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    existing = out_dir / "ASR_Model_edgetpu.tflite"
    existing.write_bytes(b"keep me")
    code, _, err = run("compile", str(ASR_IN), "--compiler", str(STAND_IN), "--out-dir", str(out_dir))
    assert code == 2
    assert existing.read_bytes() == b"keep me"
    assert "TPU936" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert json.loads(argv_file.read_text()) == ["--version"]  # the compile itself never ran
    code, _, err = run("compile", str(ASR_IN), "--compiler", str(STAND_IN), "--out-dir", str(out_dir), "--force")
    assert code == 0, err
    assert sha(existing) == sha(ASR_OUT)


def test_extra_flags_and_runtime_reach_the_compiler_and_the_prediction(scenario: Scenario, tmp_path: Path) -> None:
    argv_file = scenario("success")
    code, out, err = run(
        "compile", str(ASR_IN), "--compiler", str(STAND_IN), "--out-dir", str(tmp_path / "o"),
        "--runtime", "12", "-f", "json", "--", "-a", "-i", "dense_1/Softmax", "-n", "2",
    )  # fmt: skip
    assert code == 0, err
    argv = json.loads(argv_file.read_text())
    assert argv[argv.index("-m") + 1] == "12"
    assert argv[argv.index("-i") + 1] == "dense_1/Softmax" and "-a" in argv and "-s" in argv
    doc = json.loads(out)
    m = doc["models"][0]
    assert m["runtime"] == 12 and m["options"]["multiple_subgraphs"] is True
    assert m["options"]["intermediate_tensors"] == ["dense_1/Softmax"]
    assert m["confirmation"]["flags"] == ["-a", "-i", "dense_1/Softmax", "-n", "2"]
    assert "not modelled by the prediction: -n 2" in err


def test_compile_usage_errors(scenario: Scenario, tmp_path: Path) -> None:
    scenario("success")  # compiler 2.0: -m 10..13
    base = ("compile", str(ASR_IN), "--compiler", str(STAND_IN), "--out-dir", str(tmp_path / "o"))
    code, _, err = run(*base, "--runtime", "14")
    assert code == 2 and "10..13, not 14" in err
    code, _, err = run(*base, "--", "-o", "elsewhere")
    assert code == 2 and "--out-dir" in err
    code, _, err = run("compile", "--compiler", str(STAND_IN), "--", "-a")
    assert code == 2 and "at least one model" in err
    code, _, err = run("compile", str(tmp_path / "missing.tflite"), "--compiler", str(STAND_IN))
    assert code == 2 and "no such file" in err


# --- tpulint compile: real partial results --------------------------------------------------------------


def test_compile_partial_agrees_with_the_real_prediction(scenario: Scenario, tmp_path: Path) -> None:
    model = copy_to(tmp_path, corpus_model(N32_IN))
    scenario("partial")
    out_dir = str(tmp_path / "o")
    code, out, err = run("compile", str(model), "--compiler", str(STAND_IN), "--out-dir", out_dir, "-f", "json")
    assert code == 0, err
    c = confirmation(out)
    assert c["status"] == "match", c["disagreements"]
    assert c["compiler"]["version"] == "16.0.384591198" and c["predicted"]["compiler"] == "16.0"
    for side in ("predicted", "actual"):
        s = c[side]
        assert (s["outcome"], s["ops_total"], s["ops_tpu"], s["ops_cpu"], s["tpu_subgraphs"]) == ("partial", 3, 2, 1, 1)
        assert s["cpu_op_indices"] == [0]
        assert (s["first_cpu_op"]["index"], s["first_cpu_op"]["opcode"]) == (0, "QUANTIZE")
    other = "Operation is otherwise supported, but not mapped due to some unspecified limitation"
    assert c["actual"]["first_cpu_op"]["status"] == other == c["predicted"]["first_cpu_op"]["status"]
    assert c["run"]["ops_on_tpu"] == 2 and c["run"]["ops_on_cpu"] == 1
    assert c["run"]["compiled_models"][0]["cpu_ops"][0]["op"] == "QUANTIZE"
    assert sha(tmp_path / "o" / N32_OUT.name) == sha(N32_OUT)


def test_compile_fully_recorded_run_with_delegate_search(scenario: Scenario, tmp_path: Path) -> None:
    model = copy_to(tmp_path, corpus_model(RETINA_IN))
    scenario("recorded")  # that author ran `edgetpu_compiler -m 13 -s -da` (corpus note)
    code, out, err = run(
        "compile", str(model), "--compiler", str(STAND_IN), "--out-dir", str(tmp_path / "o"),
        "--runtime", "13", "-f", "json", "--", "-d", "-a",
    )  # fmt: skip
    assert code == 0, err
    c = confirmation(out)
    assert c["status"] == "match", c["disagreements"]
    assert c["actual"]["ops_tpu"] == c["predicted"]["ops_tpu"] == 134
    assert c["run"]["compile_ms"] == 986 and c["run"]["on_chip_memory_used"] is not None
    assert c["run"]["compiled_models"][0]["min_runtime_versions"] == [13]


# --- tpulint compile: failures -----------------------------------------------------------------------------


def test_compiler_refusal_exit_1_clean_error(scenario: Scenario, tmp_path: Path) -> None:
    # edgetpu#168's recorded 14.1 output for a float model ("Model not quantized", exit 1). Our
    # float_cnn.tflite is also a float model, and tpulint predicts that 14.1 refuses it: agreement.
    scenario("not_quantized")
    model = copy_to(tmp_path, FIX / "float_cnn.tflite")
    code, out, err = run("compile", str(model), "--compiler", str(STAND_IN), "--out-dir", str(tmp_path / "o"))
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err + out
    assert "TPU934" in err and "[not_quantized]" in err and "Model not quantized" in err
    assert "result: compilation FAILED [not_quantized]" in out
    assert "confirmation: the real compiler agrees with the prediction" in out
    code, out, _ = run("compile", str(model), "--compiler", str(STAND_IN), "-f", "json")
    c = confirmation(out)
    assert c["status"] == "match" and c["actual"]["outcome"] == c["predicted"]["outcome"] == "compile_error"
    assert c["error"]["code"] == "TPU934" and c["run"]["exit_code"] == 1 and c["outputs"]["dir"] is None


def _int8_bias_conv_at_node_2(path: Path) -> Path:
    """Three ops, the third a CONV_2D with an INT8 bias: edgetpu#212's failure (node 2)."""
    from builders import M, O, T, build

    conv = ("Conv2DOptions", {"StrideH": 1, "StrideW": 1})
    m = M(
        tensors=[
            T("x0", [1, 4, 4, 2]),
            T("x1", [1, 4, 4, 2]),
            T("x2", [1, 4, 4, 2]),
            T("w", [2, 1, 1, 2], data=bytes(4), scale=[0.01]),
            T("b", [2], "INT8", data=bytes(2), scale=[0.0005]),
            T("y", [1, 4, 4, 2]),
        ],
        ops=[O("RELU", ["x0"], ["x1"]), O("RELU", ["x1"], ["x2"]), O("CONV_2D", ["x2", "w", "b"], ["y"], 3, conv)],
        inputs=["x0"],
        outputs=["y"],
    )
    path.write_bytes(build(m))
    return path


def test_compiler_tflite_refusal_of_the_predicted_node_agrees(scenario: Scenario, tmp_path: Path) -> None:
    # edgetpu#212's recorded 14.1 output (TFLite refuses node 2, CONV_2D, for its INT8 bias) replayed
    # for a model with that very problem at node 2: tpulint predicts the same error (TPU207).
    scenario("prepare_bias")
    model = _int8_bias_conv_at_node_2(tmp_path / "bias.tflite")
    code, out, err = run("compile", str(model), "--compiler", str(STAND_IN), "-f", "json")
    assert code == 1 and "Traceback" not in err
    c = confirmation(out)
    assert c["status"] == "match", c["disagreements"]
    assert c["actual"]["outcome"] == c["predicted"]["outcome"] == "compile_error"


def test_compiler_tflite_refusal_of_another_node_is_a_mismatch(scenario: Scenario, tmp_path: Path) -> None:
    # edgetpu#453's recorded 16.0 output (TFLite refuses node 31, a CONV_2D) replayed for
    # rule_TPU205_dead_relu.tflite, a different model for which tpulint predicts node 2: both fail,
    # and the confirmation names the two nodes.
    scenario("prepare_overflow")
    model = copy_to(tmp_path, FIX / "rule_TPU205_dead_relu.tflite")
    code, out, err = run("compile", str(model), "--compiler", str(STAND_IN), "-f", "json")
    assert code == 3 and "Traceback" not in err
    c = confirmation(out)
    assert c["status"] == "mismatch"
    assert [d["kind"] for d in c["disagreements"]] == ["compile_error"]
    assert c["disagreements"][0]["predicted"] == "node 2 (CONV_2D)"
    assert c["disagreements"][0]["actual"] == "node 31 (CONV_2D)"


def test_unforeseen_compiler_failure_is_a_mismatch(scenario: Scenario, tmp_path: Path) -> None:
    # edgetpu#439's recorded 16.0 failure ("large activation tensors", exit 1) replayed for our
    # int8_cnn.tflite, which tpulint predicts to map fully: the compiler failing where tpulint
    # predicted success is reported as the failure AND as a disagreement (exit 3).
    scenario("fail")
    code, out, err = run("compile", str(FIX / "int8_cnn.tflite"), "--compiler", str(STAND_IN), "-f", "json")
    assert code == 3
    assert "TPU934" in err and "large activation tensors" in err and "Traceback" not in err
    c = confirmation(out)
    assert c["status"] == "mismatch" and c["actual"]["outcome"] == "compile_error"
    assert [d["kind"] for d in c["disagreements"]] == ["outcome"]
    assert any(f["code"] == "TPU950" for f in json.loads(out)["models"][0]["findings"])


@pytest.mark.parametrize(
    ("name", "extra", "code_text", "printed"),
    [
        ("timeout", ("--timeout", "1"), ("TPU932", "within 1 s"), "Started a compilation timeout timer"),
        ("garbage", (), ("TPU935", "cannot understand"), "stand-in garbage"),
        ("crash", (), ("TPU933", "SIGSEGV"), "Edge TPU Compiler version 16.0.384591198"),
    ],
)
def test_compiler_breakdowns_exit_1(
    scenario: Scenario, tmp_path: Path, name: str, extra: tuple[str, ...], code_text: tuple[str, str], printed: str
) -> None:
    scenario(name, STAND_IN_SLEEP="30")
    model = copy_to(tmp_path, ASR_IN)
    before = sha(model)
    code, out, err = run("compile", str(model), "--compiler", str(STAND_IN), *extra, "-f", "json")
    assert code == 1
    assert all(t in err for t in code_text) and err.count("\n") == 1 and "Traceback" not in err
    c = confirmation(out)
    assert c["status"] == "error" and c["error"]["code"] == code_text[0] and c["disagreements"] == []
    assert c["outputs"]["dir"] is None and sha(model) == before
    assert printed in c["run"]["console"]  # what the compiler printed is kept


def test_missing_compiler_exit_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    path = os.environ.get("PATH", "")
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("TPULINT_EDGETPU_COMPILER", raising=False)
    for args in (("compile", str(ASR_IN)), ("check", "--confirm", str(ASR_IN))):
        code, out, err = run(*args)
        assert code == 4, args
        assert out == "" and err.count("\n") == 1
        assert err.startswith("tpulint: error: edgetpu_compiler not found")
        assert "edgetpu-compiler" in err and "coral-edgetpu-stable" in err and "x86-64 Linux" in err
    code, _, err = run("compile", str(ASR_IN), "--compiler", str(tmp_path / "nope"))
    assert code == 4 and "not an executable" in err
    monkeypatch.setenv("PATH", path)  # the stand-in needs python3; edgetpu_compiler is still not on it
    monkeypatch.setenv("TPULINT_EDGETPU_COMPILER", str(STAND_IN))  # the environment variable works
    monkeypatch.setenv("STAND_IN_SCENARIO", "success")
    code, _, err = run("compile", str(ASR_IN), "--out-dir", str(tmp_path / "o"))
    assert code == 0, err


# --- a prediction that drifted from the compiler ------------------------------------------------------


def drop_softmax_from_op_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Simulate a drifted rule: tpulint 'forgets' that SOFTMAX maps (only in this process)."""
    import tpulint.context as context

    real = context.op_table()
    monkeypatch.setattr(context, "op_table", lambda: {k: v for k, v in real.items() if k != "SOFTMAX"})


def test_compile_drifted_rules_are_a_mismatch(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario("success")
    drop_softmax_from_op_table(monkeypatch)
    out_dir = str(tmp_path / "o")
    code, out, err = run("compile", str(ASR_IN), "--compiler", str(STAND_IN), "--out-dir", out_dir, "-f", "json")
    assert code == 3, err
    c = confirmation(out)
    assert c["status"] == "mismatch"
    kinds = {d["kind"]: d for d in c["disagreements"]}
    assert kinds["outcome"]["predicted"] == "partial" and kinds["outcome"]["actual"] == "full"
    assert kinds["placement"]["op_type"] == "SOFTMAX"
    finding = next(f for f in json.loads(out)["models"][0]["findings"] if f["code"] == "TPU950")
    assert finding["name"] == "confirmation-mismatch" and finding["severity"] == "error"
    assert "edgetpu_compiler 2.0.291256449" in finding["observed"] and finding["fingerprint"]
    code, out, _ = run("compile", str(ASR_IN), "--compiler", str(STAND_IN), "--out-dir", str(tmp_path / "t"))
    assert code == 3 and "confirmation: MISMATCH" in out and "SOFTMAX: predicted 0 of 1" in out


# --- check --confirm ------------------------------------------------------------------------------------------


def test_check_confirm_json_has_a_valid_confirmation_block(scenario: Scenario, tmp_path: Path) -> None:
    scenario("success")
    code, out, err = run("check", "--confirm", "--compiler", str(STAND_IN), "--out-dir", str(tmp_path / "o"),
                         "-f", "json", str(ASR_IN))  # fmt: skip
    assert code == 0, err
    c = confirmation(out)
    assert c["status"] == "match"
    assert c["predicted"]["compiler"] == "2.0"  # predicted for the compiler that ran
    assert c["predicted"]["ops_tpu"] == c["actual"]["ops_tpu"] == 12
    assert c["outputs"]["compiled_models"] == [str(tmp_path / "o" / "ASR_Model_edgetpu.tflite")]
    assert c["bench"] is None


def test_check_confirm_partial_text(scenario: Scenario, tmp_path: Path) -> None:
    model = corpus_model(N32_IN)
    scenario("partial")
    code, out, err = run("check", "--confirm", "--compiler", str(STAND_IN), "--out-dir", str(tmp_path / "o"),
                         "--no-color", str(model))  # fmt: skip
    assert code == 1, err  # an op is predicted on the CPU; the compiler agrees
    assert f"== confirmation: {model}" in out
    assert "confirmation: the real compiler agrees with the prediction" in out
    assert "first CPU op         #0 QUANTIZE                            #0 QUANTIZE" in out


def test_check_confirm_other_compiler_version_is_a_mismatch(scenario: Scenario, tmp_path: Path) -> None:
    model = corpus_model(N32_IN)
    scenario("partial")  # the real 16.0 compiler's run: QUANTIZE on the CPU, 2 CONV_2D mapped
    args = ("check", "--confirm", "--compiler", str(STAND_IN), "--compiler-version", "1.0", "--out-dir")
    code, out, err = run(*args, str(tmp_path / "a"), "-f", "json", str(model))
    assert code == 3, err
    c = confirmation(out)
    assert c["status"] == "mismatch" and "prediction is for compiler 1.0" in c["note"]
    assert c["predicted"]["outcome"] == "none" and c["actual"]["outcome"] == "partial"
    kinds = {d["kind"] for d in c["disagreements"]}
    assert {"outcome", "tpu_ops", "cpu_ops", "placement", "tpu_subgraphs", "cpu_op_set"} <= kinds
    codes = [f["code"] for f in json.loads(out)["models"][0]["findings"]]
    assert "TPU950" in codes
    # Text: the disagreements are printed.
    code, out, _ = run(*args, str(tmp_path / "b"), "--no-color", "--show-ops", "none", str(model))
    assert code == 3 and "confirmation: MISMATCH" in out and "CONV_2D: predicted 0 of 2" in out
    # --exit-zero does not hide a mismatch; --ignore TPU950 does (then the findings decide: 1).
    assert run(*args, str(tmp_path / "c"), "--exit-zero", "-f", "json", str(model))[0] == 3
    code, out, _ = run(*args, str(tmp_path / "d"), "--ignore", "TPU950", "-f", "json", str(model))
    assert code == 1 and confirmation(out)["status"] == "mismatch"


def test_check_confirm_drifted_rules_exit_3(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario("success")
    drop_softmax_from_op_table(monkeypatch)
    code, out, _ = run("check", "--confirm", "--compiler", str(STAND_IN), "--out-dir", str(tmp_path / "o"),
                       "-f", "json", str(ASR_IN))  # fmt: skip
    assert code == 3
    assert confirmation(out)["status"] == "mismatch"


def test_check_confirm_passes_runtime_and_flags(scenario: Scenario, tmp_path: Path) -> None:
    argv_file = scenario("success")
    code, _, err = run("check", "--confirm", "--compiler", str(STAND_IN), "--out-dir", str(tmp_path / "o"),
                       "--runtime", "12", "-a", "-i", "dense_1/Softmax", str(ASR_IN))  # fmt: skip
    assert code == 0, err
    argv = json.loads(argv_file.read_text())
    assert argv[argv.index("-m") + 1] == "12" and "-a" in argv and argv[argv.index("-i") + 1] == "dense_1/Softmax"


def test_check_confirm_compiler_failure(scenario: Scenario, tmp_path: Path) -> None:
    scenario("garbage")
    code, out, err = run("check", "--confirm", "--compiler", str(STAND_IN), "-f", "json", str(ASR_IN))
    assert code == 1 and "TPU935" in err and "Traceback" not in err
    assert confirmation(out)["status"] == "error"


def test_confirm_options_need_confirm() -> None:
    for extra in (("--bench",), ("--compiler", str(STAND_IN)), ("--force",)):
        code, _, err = run("check", *extra, str(ASR_IN))
        assert code == 2 and "only with --confirm" in err


def test_check_confirm_bench_without_a_device(scenario: Scenario, tmp_path: Path) -> None:
    from tpulint.bench import detect_backends

    if detect_backends().delegate_loadable:
        pytest.skip("this machine has libedgetpu")
    scenario("success")
    base = ("check", "--confirm", "--bench", "--compiler", str(STAND_IN))
    code, out, err = run(*base, "--out-dir", str(tmp_path / "a"), "-f", "json", str(ASR_IN))
    assert code == 0 and "Traceback" not in err
    bench = confirmation(out)["bench"]
    assert bench["status"] == "unavailable" and bench["code"] == "TPU922" and bench["result"] is None
    assert "--bench not measured" in err and "libedgetpu1-std" in err and err.count("\n") == 1
    code, out, err = run(*base, "--out-dir", str(tmp_path / "b"), "--no-color", str(ASR_IN))
    assert code == 0 and err == ""
    assert "confirmation: the real compiler agrees with the prediction" in out
    assert "bench: not measured" in out and "measured" in out and "not measured" in out


def test_check_confirm_bench_side_by_side(scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a device: there is none here, so the Edge TPU run is replaced by a REAL CPU run of the
    input model (labelled as such below); this checks the wiring and the side-by-side layout."""
    from tpulint import bench

    cpu_result = bench.run_bench(ASR_IN, cpu=True, iterations=5, warmup=0)  # measured for real, on the CPU
    seen: list[Path] = []

    def fake_edgetpu_bench(path: Path, **_: Any) -> bench.BenchResult:
        seen.append(Path(path))
        return cpu_result

    monkeypatch.setattr(bench, "run_bench", fake_edgetpu_bench)
    scenario("success")
    code, out, err = run("check", "--confirm", "--bench", "--compiler", str(STAND_IN), "--out-dir",
                         str(tmp_path / "o"), "--no-color", str(ASR_IN))  # fmt: skip
    assert code == 0, err
    assert seen == [tmp_path / "o" / "ASR_Model_edgetpu.tflite"]  # the compiled model is measured
    header = next(ln for ln in out.splitlines() if "predicted (compiler 2.0" in ln)
    assert "compiled (2.0.291256449)" in header and "measured" in header
    assert "first inference" in out and "latency mean/p50/p99" in out and "inferences/s" in out
    code, out, _ = run("check", "--confirm", "--bench", "--compiler", str(STAND_IN), "--out-dir",
                       str(tmp_path / "j"), "-f", "json", str(ASR_IN))  # fmt: skip
    b = confirmation(out)["bench"]
    assert b["status"] == "measured" and b["result"]["mean_ms"] == pytest.approx(cpu_result.mean_ms)
