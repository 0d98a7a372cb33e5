"""The memory, pipelining, co-compilation and latency parts of ``tpulint check``'s report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import FIXTURES, ROOT, corpus_or_skip
from typer.testing import CliRunner

from tpulint.cli import app
from tpulint.compiler.compiled import read_compiled_model
from tpulint.units import compiler_size

runner = CliRunner()
SCHEMA = json.loads((ROOT / "tpulint" / "schema" / "report.schema.json").read_text())
ASR = FIXTURES / "compiled" / "asr_model_v2compiler"


def check_json(*args: str) -> tuple[int, list[dict[str, Any]]]:
    r = runner.invoke(app, ["check", "-f", "json", *args])
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA)
    return r.exit_code, doc["models"]


def test_memory_lines_match_the_real_compiled_asr_model() -> None:
    """The ASR model's real compiled package (compiler 2.0): 102,080 bytes cached, 3,072 streamed."""
    _, (m,) = check_json("--compiler-version", "2.0", str(ASR / "ASR_Model.tflite"))
    real = read_compiled_model(ASR / "ASR_Model_edgetpu.tflite")
    exes = [e for op in real.edgetpu_ops for p in op.packages for e in p.executables]
    assert m["memory"]["cached_param_bytes"] == sum(e.cached_bytes for e in exes) == 102080
    assert m["memory"]["streamed_param_bytes"] == sum(e.streamed_bytes for e in exes) == 3072
    assert m["memory"]["off_chip_bytes"] == 3072
    assert m["memory"]["on_chip_used_bytes"] + m["memory"]["on_chip_remaining_bytes"] == m["memory"]["capacity_bytes"]
    assert m["summary"]["on_chip_param_bytes"] == 102080 and m["summary"]["off_chip_param_bytes"] == 3072
    assert "TPU601" not in {f["code"] for f in m["findings"]}  # 3 KiB of element-wise constants: no warning


def test_streaming_model_gets_a_warning_with_the_amount() -> None:
    code, (m,) = check_json(str(FIXTURES / "rule_TPU601_big_dense.tflite"))
    (f,) = [f for f in m["findings"] if f["code"] == "TPU601"]
    assert f["severity"] == "warning" and "streamed from host memory on every inference" in f["observed"]
    assert m["memory"]["off_chip_bytes"] > 8 * 2**20 and not m["memory"]["fits_on_chip"]
    assert "-n" in f["fix"] and code == 0
    assert f["observed"].endswith("; streamed: op 0 FULLY_CONNECTED 8.60 MiB")  # which op, for slimming or -n
    lat = m["latency_estimate"]
    assert lat["streaming_ms"] > 10 * lat["tpu_compute_ms"]  # streaming 8.6 MiB dominates


def test_num_segments_splits_every_tpu_op_once_in_order() -> None:
    _, (m,) = check_json("-n", "3", str(FIXTURES / "int8_cnn.tflite"))
    segs = m["segments"]
    assert len(segs) == 3 and m["options"]["num_segments"] == 3
    covered = [i for s in segs for i in range(s["first_op"], s["last_op"] + 1)]
    tpu = [o["index"] for o in m["ops"] if o["placement"] == "tpu"]
    assert covered == tpu
    assert (
        sum(s["param_bytes"] for s in segs) == m["memory"]["cached_param_bytes"] + m["memory"]["streamed_param_bytes"]
    )
    assert segs[0]["inputs"] and segs[-1]["outputs"]
    _, (plain,) = check_json(str(FIXTURES / "int8_cnn.tflite"))
    assert plain["segments"] is None


def test_co_compile_shares_the_cache_in_command_line_order() -> None:
    a, b = FIXTURES / "int8_cnn.tflite", FIXTURES / "rule_TPU601_big_dense.tflite"
    _, (ma, mb) = check_json("--co-compile", str(a), str(b))
    ca, cb = ma["memory"]["co_compiled"], mb["memory"]["co_compiled"]
    assert (ca["position"], cb["position"], ca["models"]) == (0, 1, 2)
    assert ca["cache_available_bytes"] == ma["memory"]["capacity_bytes"]
    assert cb["cache_available_bytes"] == ma["memory"]["capacity_bytes"] - ca["on_chip_used_bytes"]
    left = ma["memory"]["capacity_bytes"] - ca["on_chip_used_bytes"] - cb["on_chip_used_bytes"]
    assert ca["on_chip_remaining_bytes"] == cb["on_chip_remaining_bytes"] == left
    # The compiler-log format prints each model's share and the one shared "remaining" line.
    r = runner.invoke(app, ["check", "--co-compile", "-f", "compiler-log", str(a), str(b)])
    remaining = [ln for ln in r.stdout.splitlines() if ln.startswith("On-chip memory remaining")]
    assert remaining == [f"On-chip memory remaining for caching model parameters: {compiler_size(left)}"] * 2
    used = [ln.rsplit(": ", 1)[1] for ln in r.stdout.splitlines() if ln.startswith("On-chip memory used")]
    assert used == [compiler_size(ca["on_chip_used_bytes"]), compiler_size(cb["on_chip_used_bytes"])]
    _, (alone,) = check_json(str(a))
    assert "co_compiled" not in alone["memory"]


def test_text_report_shows_memory_and_the_estimate() -> None:
    r = runner.invoke(app, ["check", "--no-color", "-n", "2", str(FIXTURES / "int8_cnn.tflite")])
    assert "Memory (predicted): on-chip used" in r.stdout
    assert "Segment 0: ops #0-" in r.stdout and "Segment 1:" in r.stdout
    assert "Latency (estimate, USB 3):" in r.stdout


def test_latency_estimate_states_its_method(tmp_path: Path) -> None:
    _, (m,) = check_json(str(FIXTURES / "int8_cnn.tflite"))
    lat = m["latency_estimate"]
    assert "estimate" in lat["method"].lower()
    parts = lat["tpu_compute_ms"] + lat["streaming_ms"] + lat["io_ms"] + lat["cpu_ms"] + lat["overhead_ms"]
    assert abs(parts - lat["total_ms"]) < 1e-6


def test_python_api_predicts_segments() -> None:
    import pytest

    import tpulint

    rep = tpulint.check(FIXTURES / "int8_cnn.tflite", num_segments=2)
    assert rep.segments is not None and len(rep.segments) == 2
    assert rep.memory is not None and rep.latency_estimate is not None and rep.quantization is not None
    assert tpulint.check(FIXTURES / "int8_cnn.tflite").segments is None
    with pytest.raises(ValueError):
        tpulint.check(FIXTURES / "int8_cnn.tflite", num_segments=0)


def test_streaming_warning_names_the_largest_streamed_ops_first() -> None:
    """fer_mobilefacenet_112: 33 PReLU alpha tensors always stream (element-wise constants)."""
    case = corpus_or_skip() / "fer_mobilefacenet_112"
    models = [p for p in case.glob("*.tflite") if not p.name.endswith("_edgetpu.tflite")] if case.is_dir() else []
    if not models:
        pytest.skip("fer_mobilefacenet_112 not in this corpus")
    _, (m,) = check_json(str(models[0]))
    (f,) = [f for f in m["findings"] if f["code"] == "TPU601"]
    listed = f["observed"].split("; streamed: ")[1]
    assert listed.endswith(" and 29 more") and listed.count("PRELU") == 4
    sizes = [int(float(part.split()[3])) for part in listed.split(" and ")[0].split(", ")]
    assert sizes == sorted(sizes, reverse=True)
