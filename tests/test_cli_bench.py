"""End to end: `tpulint bench`. The CPU baseline runs for real (ai-edge-litert) on the fixtures;
there is no Edge TPU here, so the Edge TPU path must end in a clear message and exit 4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tpulint.cli import app

FIX = Path(__file__).resolve().parents[1] / "fixtures"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def test_bench_cpu_json_runs_for_real() -> None:
    code, out, err = run("bench", "--cpu", str(FIX / "int8_cnn.tflite"), "--format", "json", "--iterations", "20")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["tool"]["name"] == "tpulint"
    b = doc["bench"]
    assert b["target"] == "cpu" and b["delegate"] is None and b["edgetpu_model"] is False
    assert b["backend"] in ("ai_edge_litert", "tflite_runtime")
    assert b["iterations"] == 20 and b["warmup"] == 1
    assert b["inputs"] == [{"name": b["inputs"][0]["name"], "shape": [1, 16, 16, 3], "dtype": "int8"}]
    assert b["outputs"][0]["shape"] == [1, 10] and b["outputs"][0]["dtype"] == "int8"
    assert b["first_invoke_ms"] > 0 and b["load_ms"] > 0
    assert 0 < b["min_ms"] <= b["p50_ms"] <= b["p90_ms"] <= b["p99_ms"] <= b["max_ms"]
    assert b["inferences_per_second"] == pytest.approx(1000.0 / b["mean_ms"])
    assert "latencies_ms" not in b
    code, out, _ = run("bench", "--cpu", str(FIX / "int8_cnn.tflite"), "-f", "json", "-n", "3", "--samples")
    assert code == 0 and len(json.loads(out)["bench"]["latencies_ms"]) == 3


def test_bench_cpu_text_with_threads() -> None:
    code, out, err = run("bench", "--cpu", "--threads", "1", "--warmup", "0", "-n", "5", str(FIX / "uint8_cnn.tflite"))
    assert code == 0, err
    assert "CPU (1 threads)" in out and "latency ms" in out and "throughput" in out and "first invoke" in out


def test_bench_without_an_edge_tpu_exit_4() -> None:
    from tpulint.bench import detect_backends

    if detect_backends().delegate_loadable:
        pytest.skip("this machine has libedgetpu")
    for extra in ((), ("--device", "usb")):
        code, out, err = run("bench", str(FIX / "int8_cnn.tflite"), *extra)
        assert code == 4
        assert out == "" and err.count("\n") == 1 and "Traceback" not in err
        assert err.startswith("tpulint: error: TPU922 ")
        assert "libedgetpu1-std" in err and "tpulint bench --cpu" in err


def test_bench_usage_and_model_errors(tmp_path: Path) -> None:
    model = str(FIX / "int8_cnn.tflite")
    code, _, err = run("bench", "--cpu", "--device", "usb", model)
    assert code == 2 and "exclude each other" in err
    code, _, err = run("bench", "--device", "tpu", model)
    assert code == 2 and "invalid Edge TPU device" in err
    code, _, err = run("bench", "--cpu", str(tmp_path / "missing.tflite"))
    assert code == 2 and "TPU901" in err
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"not a model at all, certainly not a flatbuffer")
    code, _, err = run("bench", "--cpu", str(garbage))
    assert code == 2 and "Traceback" not in err


def test_bench_compiled_model_on_the_cpu_exit_1() -> None:
    compiled = FIX / "compiled" / "asr_model_v2compiler" / "ASR_Model_edgetpu.tflite"  # real, MIT
    code, out, err = run("bench", "--cpu", str(compiled))
    assert code == 1 and out == ""
    assert "TPU923" in err and "compiled for the Edge TPU" in err and err.count("\n") == 1
