"""``tpulint inspect`` and ``check`` on compiled models: the facts in the DWN1 packages, on real
compiled models (fixtures/compiled, and every compiled model of ../shared/corpus when present)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, FIXTURES, corpus_or_skip
from typer.testing import CliRunner

from tpulint.cli import app

runner = CliRunner()
COMPILED = FIXTURES / "compiled"
SPLIT_CONCAT = COMPILED / "coral_td__split_concat" / "split_concat_edgetpu.tflite"
ASR = COMPILED / "asr_model_v2compiler" / "ASR_Model_edgetpu.tflite"
EXPECTED: dict[str, dict[str, Any]] = json.loads((COMPILED / "expected_from_truth.json").read_text())


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def inspect_json(*paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any]]:
    code, out, _ = run("inspect", "-f", "json", *extra, *map(str, paths))
    return code, json.loads(out)


def _executables(info: dict[str, Any]) -> list[dict[str, Any]]:
    """The facts truth.json lists per executable, from a report's compiled_info."""
    return [
        {
            "custom_op_index": op["index"],
            "type": e["type"],
            "parameters_bytes": e["parameters_bytes"],
            "name": e["name"],
            "chip": e["chip"],
            "input_layers": [x["name"] for x in e["input_layers"]],
            "output_layers": [x["name"] for x in e["output_layers"]],
        }
        for op in info["custom_ops"]
        for p in op["packages"]
        for e in p["executables"]
    ]


def _positions(info: dict[str, Any], where: str) -> list[str]:
    return [c["opcode"] for c in info["cpu_ops"] if c["position"] == where]


def _check_facts(info: dict[str, Any], compiled: dict[str, Any], hints: dict[str, Any], where: str) -> None:
    assert info["errors"] == [], where
    assert info["edgetpu_custom_ops"] == compiled["edgetpu_custom_op_count"], where
    assert info["edgetpu_custom_op_indices"] == compiled["edgetpu_custom_op_indices"], where
    assert info["package_min_runtime_versions"] == hints["package_min_runtime_versions"], where
    assert info["min_runtime_version"] == max(hints["package_min_runtime_versions"]), where
    assert info["compiler_versions"] == hints["package_compiler_version_fields"], where
    assert _executables(info) == compiled["executables"], where
    assert _positions(info, "before") == compiled["cpu_ops_before_first_custom_op"], where
    assert _positions(info, "between") == compiled["cpu_ops_between_custom_ops"], where
    assert _positions(info, "after") == compiled["cpu_ops_after_last_custom_op"], where
    assert [(c["index"], c["opcode"]) for c in info["cpu_ops"]] == [
        (c["index"], c["op"]) for c in compiled["cpu_ops"]
    ], where
    cached = sum(e["parameters_bytes"] for e in compiled["executables"] if e["type"] == "PARAMETER_CACHING")
    streamed = sum(e["parameters_bytes"] for e in compiled["executables"] if e["type"] != "PARAMETER_CACHING")
    assert info["parameters"] == {"cached_bytes": cached, "streamed_bytes": streamed}, where


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_inspect_fixture_matches_truth(case: str) -> None:
    exp = EXPECTED[case]
    code, doc = inspect_json(COMPILED / case / exp["compiled_file"])
    (m,) = doc["models"]
    assert m["ok"] and m["error"] is None
    hints = {k: exp[k] for k in ("package_min_runtime_versions", "package_compiler_version_fields")}
    _check_facts(m["compiled_info"], exp, hints, case)
    streams = any(e["type"] != "PARAMETER_CACHING" and e["parameters_bytes"] for e in exp["executables"])
    assert ("TPU602" in {f["code"] for f in m["findings"]}) == streams
    assert code == 0  # TPU602 is a warning; default --fail-on error


def test_inspect_split_concat_layers_and_shapes() -> None:
    _, doc = inspect_json(SPLIT_CONCAT)
    info = doc["models"][0]["compiled_info"]
    (op,) = info["custom_ops"]
    assert op["inputs"] == ["input1", "inputs/rnn1", "inputs/rnn2"]
    (pkg,) = op["packages"]
    run_exe = next(e for e in pkg["executables"] if e["type"] == "EXECUTION_ONLY")
    ins = {x["name"]: x for x in run_exe["input_layers"]}
    assert ins["input1"]["shape"] == [8, 8, 3] and ins["input1"]["size_bytes"] == 192
    assert ins["input1"]["data_type"] == "FIXED_POINT8"  # uint8 at the TPU boundary
    assert ins["input1"]["zero_point"] == 128 and ins["input1"]["scale"] == pytest.approx(1 / 128)
    assert [x["shape"] for x in run_exe["output_layers"]][-1] == [8, 8, 2]
    assert run_exe["instruction_bytes"] > 0
    assert info["chips"] == ["beagle"] and info["cpu_ops"] == []


def test_inspect_text_output() -> None:
    code, out, _ = run("inspect", "--no-color", str(ASR))
    assert code == 0
    assert "Requires Edge TPU runtime ≥ 12" in out
    assert "Parameters: 99.69KiB cached on chip, 3.00KiB streamed each inference" in out
    assert "in:  conv2d_input [20x11x1] fixed_point8" in out
    assert "TPU602" in out and "3.00 KiB of parameters streamed" in out


def test_runtime_too_old_is_an_error_with_the_runtime_s_words() -> None:
    code, doc = inspect_json(SPLIT_CONCAT, extra=("--runtime", "12"))
    assert code == 1
    (f,) = [f for f in doc["models"][0]["findings"] if f["code"] == "TPU404"]
    assert f["severity"] == "error"
    assert "Package requires runtime version (13), which is newer than this runtime version (12)." in f["observed"]
    code, doc = inspect_json(SPLIT_CONCAT, extra=("--runtime", "13"))
    assert code == 0 and "TPU404" not in {f["code"] for f in doc["models"][0]["findings"]}


def test_fail_on_warning_fails_on_streaming() -> None:
    assert run("inspect", "--fail-on", "warning", str(ASR))[0] == 1
    assert run("inspect", "--fail-on", "warning", str(SPLIT_CONCAT))[0] == 0
    code, _, err = run("inspect", "--fail-on", "bogus", str(ASR))
    assert code == 2 and "--fail-on" in err


def test_uncompiled_and_missing_inputs_exit_2_with_one_line() -> None:
    code, out, err = run("inspect", str(FIXTURES / "int8_cnn.tflite"), "no_such_model.tflite")
    assert code == 2
    lines = [x for x in err.splitlines() if x]
    assert len(lines) == 2 and all(x.startswith("tpulint: error: ") for x in lines)
    assert "not a compiled Edge TPU model" in lines[0] and "no such file" in lines[1]
    assert "Traceback" not in out + err


def _corrupt_package(tmp_path: Path) -> Path:
    """split_concat_edgetpu.tflite with its DWN1 package's root offset pointing past the end."""
    data = bytearray(SPLIT_CONCAT.read_bytes())
    at = data.find(b"DWN1")
    assert at > 4
    data[at - 4 : at] = (0x7FFFFFF0).to_bytes(4, "little")
    bad = tmp_path / "corrupt_edgetpu.tflite"
    bad.write_bytes(bytes(data))
    return bad


def test_malformed_package_is_one_clear_error(tmp_path: Path) -> None:
    bad = _corrupt_package(tmp_path)
    before = bad.read_bytes()
    for cmd in ("inspect", "check"):
        code, out, err = run(cmd, "-f", "json", str(bad))
        assert code == 2, cmd
        (m,) = json.loads(out)["models"]
        assert m["ok"] is False and m["error"]["code"] == "TPU907", cmd
        assert "malformed Edge TPU custom op" in m["error"]["message"], cmd
        assert "DWN1" in m["error"]["message"], cmd
        assert len([x for x in err.splitlines() if x]) == 1 and "Traceback" not in err, cmd
    assert bad.read_bytes() == before  # input never modified


def test_check_on_compiled_input_carries_the_same_facts() -> None:
    code, out, _ = run("check", "-f", "json", str(SPLIT_CONCAT))
    (m,) = json.loads(out)["models"]
    assert m["compiled"] is True
    _, doc = inspect_json(SPLIT_CONCAT)
    assert m["compiled_info"] == doc["models"][0]["compiled_info"]
    assert m["summary"]["on_chip_param_bytes"] == 192 and m["summary"]["off_chip_param_bytes"] == 0
    code, out, _ = run("check", "--no-color", "--runtime", "12", str(SPLIT_CONCAT))
    assert code == 1 and "TPU404" in out and "Requires Edge TPU runtime ≥ 13" in out


def test_a_directory_is_searched_for_compiled_models_only(tmp_path: Path) -> None:
    shutil.copy(SPLIT_CONCAT, tmp_path / SPLIT_CONCAT.name)
    shutil.copy(
        FIXTURES / "compiled" / "coral_td__split_concat" / "split_concat.tflite", tmp_path / "split_concat.tflite"
    )
    code, doc = inspect_json(tmp_path)
    assert code == 0 and [Path(m["path"]).name for m in doc["models"]] == [SPLIT_CONCAT.name]
    code, _, err = run("inspect", str(tmp_path / "split_concat.tflite"))  # named explicitly: an error
    assert code == 2 and "not a compiled Edge TPU model" in err
    (tmp_path / SPLIT_CONCAT.name).unlink()
    code, _, err = run("inspect", str(tmp_path))
    assert code == 2 and "no compiled Edge TPU models" in err


def test_inspect_cli_process_has_no_traceback_on_a_directory(tmp_path: Path) -> None:
    shutil.copy(SPLIT_CONCAT, tmp_path / SPLIT_CONCAT.name)
    r = subprocess.run(
        [sys.executable, "-c", "from tpulint.cli import main; main()", "inspect", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "edgetpu-custom-op at op 0" in r.stdout


def test_inspect_every_corpus_compiled_model_matches_truth() -> None:
    corpus_or_skip()
    cases = sorted(t.parent for t in CORPUS.glob("*/truth.json"))
    paths = [c / json.loads((c / "truth.json").read_text())["files"]["compiled"]["name"] for c in cases]
    code, doc = inspect_json(*paths)
    assert len(doc["models"]) == len(cases) > 50
    uncompiled = 0
    for case, m in zip(cases, doc["models"], strict=True):
        truth = json.loads((case / "truth.json").read_text())
        if truth["compiled"]["edgetpu_custom_op_count"] == 0:  # nothing mapped: no custom op
            assert not m["ok"] and "not a compiled Edge TPU model" in m["error"]["message"], case.name
            uncompiled += 1
            continue
        assert m["ok"], (case.name, m["error"])
        _check_facts(m["compiled_info"], truth["compiled"], truth["compiler_version_hints"], case.name)
    assert uncompiled == 2  # lenet_float and benzionfischer_yolov8n_int8_256: no op mapped
    assert code == 2  # the nothing-mapped outputs are not compiled models
