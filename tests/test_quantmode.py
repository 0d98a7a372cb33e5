"""Quantization-mode detection and the TPU7xx converter findings, on converter-made fixtures (each made
by the real TFLite converter with the setting named; fixtures/make_fixtures.py) and the corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import O, T, build, conv_chain
from conftest import CORPUS, FIXTURES, corpus_or_skip
from typer.testing import CliRunner

from tpulint.analyze import analyze_model, analyze_path
from tpulint.cli import app
from tpulint.context import Target
from tpulint.graph import Graph
from tpulint.model import load_model, parse_model
from tpulint.quantmode import detect

T16 = Target(compiler="16.0")

# fixture -> (mode, the TPU7xx finding it must get, or None)
FIXTURE_MODES = {
    "float_cnn.tflite": ("float32", "TPU701"),
    "float16.tflite": ("float16_weights", "TPU702"),
    "dynamic_range.tflite": ("dynamic_range", "TPU703"),
    "int8_float_io.tflite": ("full_integer_float_io", "TPU704"),
    "int16x8.tflite": ("int16x8", "TPU705"),
    "qat_leftovers.tflite": ("qat_leftovers", "TPU706"),
    "int8_cnn.tflite": ("full_integer_int8_io", None),
    "uint8_cnn.tflite": ("full_integer_uint8_io", None),
    "batch2.tflite": ("full_integer_int8_io", "TPU708"),
}
CONVERTER_CODES = {f"TPU70{i}" for i in range(1, 10)}


def _mode(path: Path) -> str:
    m = load_model(path)
    try:
        return detect(Graph.build(m, m.subgraphs[0])).mode
    finally:
        m.close()


@pytest.mark.parametrize("name", sorted(FIXTURE_MODES))
def test_fixture_mode_and_converter_finding(name: str) -> None:
    mode, code = FIXTURE_MODES[name]
    assert _mode(FIXTURES / name) == mode
    rep = analyze_path(FIXTURES / name, T16)
    assert rep.quantization is not None and rep.quantization["mode"] == mode
    got = {f.code for f in rep.findings} & CONVERTER_CODES
    assert got == ({code} if code else set())
    for f in rep.findings:
        if f.code in CONVERTER_CODES:
            assert "converter" in (f.fix or "") or "TensorFlow" in (f.fix or "")


def test_converter_fixes_are_exact_settings() -> None:
    rep = analyze_path(FIXTURES / "dynamic_range.tflite", T16)
    (f,) = [f for f in rep.findings if f.code == "TPU703"]
    assert "converter.representative_dataset" in (f.fix or "")
    assert "tf.lite.OpsSet.TFLITE_BUILTINS_INT8" in (f.fix or "")
    rep = analyze_path(FIXTURES / "int8_float_io.tflite", T16)
    (f,) = [f for f in rep.findings if f.code == "TPU704"]
    assert "converter.inference_input_type = tf.uint8" in (f.fix or "")
    assert "2 QUANTIZE/DEQUANTIZE op(s) at the edges" in f.observed


def test_json_and_text_show_the_mode() -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["check", "-f", "json", str(FIXTURES / "int8_float_io.tflite")])
    q = json.loads(r.stdout)["models"][0]["quantization"]
    assert q["mode"] == "full_integer_float_io"
    assert q["input_types"] == ["FLOAT32"] and q["output_types"] == ["FLOAT32"]
    assert q["integer_ops"] == 12 and q["float_ops"] == 0
    r = runner.invoke(app, ["check", "--no-color", str(FIXTURES / "float16.tflite")])
    assert "Quantization: float16 weights (float computation) · inputs FLOAT32 · outputs FLOAT32" in r.stdout


def test_index_outputs_do_not_make_a_model_mixed() -> None:
    """ARG_MAX's int64 output (a segmentation head) says nothing about the converter's I/O type."""
    tensors = [
        T("input", [1, 8, 8, 4], "UINT8"),
        T("w", [4, 1, 1, 4], "UINT8", data=bytes(16)),
        T("b", [4], "INT32", data=bytes(16)),
        T("a", [1, 8, 8, 4], "UINT8"),
        T("axis", [1], "INT32", data=(3).to_bytes(4, "little")),
        T("labels", [1, 8, 8], "INT64"),
    ]
    ops = [
        O("CONV_2D", ["input", "w", "b"], ["a"], options=("Conv2DOptions", {"StrideH": 1, "StrideW": 1})),
        O("ARG_MAX", ["a", "axis"], ["labels"]),
    ]
    from builders import M

    model = parse_model(build(M(tensors, ops, ["input"], ["labels"])))
    assert detect(Graph.build(model, model.subgraphs[0])).mode == "full_integer_uint8_io"


def test_mixed_model_gets_tpu707() -> None:
    # int8 convs around a float32 op: the converter fell back to a float kernel.
    m = conv_chain(
        O("LOGISTIC", ["a"], ["b"]),
        extra_tensors=[],
    )
    for t in m.tensors:
        if t.name == "b":
            t.dtype, t.quant = "FLOAT32", False
    model = parse_model(build(m))
    q = detect(Graph.build(model, model.subgraphs[0]))
    assert q.mode == "mixed" and q.float_ops == [1, 2] and q.integer_ops == [0]  # op 2 reads the float
    rep = analyze_model(model, T16)
    (f,) = [f for f in rep.findings if f.code == "TPU707"]
    assert f.op_index == 1 and "2 float32 ops among 1 integer ops" in f.observed


def test_tensorflow_version_finding_names_the_converter() -> None:
    m = conv_chain()
    m.ops[0].version = 6  # CONV_2D v6: what TensorFlow 2.9+ writes; compiler 16.0 parses <= 5
    model = parse_model(build(m))
    rep = analyze_model(model, T16)
    (f,) = [f for f in rep.findings if f.code == "TPU709"]
    assert "CONV_2D v6" in f.observed and "TensorFlow ≤ 2.8" in f.observed
    assert "TPU402" in {x.code for x in rep.findings}  # the compiler-side finding
    assert not [f for f in analyze_model(parse_model(build(conv_chain())), T16).findings if f.code == "TPU709"]


# Corpus: the converter settings these real models were made with, as their sources describe them.
CORPUS_MODES = {
    "benzionfischer_yolov8n_int8_256": "dynamic_range",  # "int8" in the name, but no calibration: nothing maps
    "lenet_float": "float32",
    "coral_td__mobilenet_v2_1.0_224_quant__2021-05": "full_integer_uint8_io",
    "coral_td__deeplabv3_mnv2_pascal_quant": "full_integer_uint8_io",  # ARG_MAX int64 output
    "jeonghwasik_mnist_lenet_quant": "full_integer_float_io",
    "edward_mot_yolov5nu_352": "full_integer_int8_io",
    "coral_td__movenet_single_pose_lightning_ptq": "mixed",  # float CAST / post-processing ops
}


@pytest.mark.parametrize("case", sorted(CORPUS_MODES))
def test_corpus_modes(case: str) -> None:
    corpus_or_skip()
    truth = json.loads((CORPUS / case / "truth.json").read_text())
    assert _mode(CORPUS / case / truth["files"]["input"]["name"]) == CORPUS_MODES[case]


def test_every_corpus_model_that_maps_nothing_has_a_converter_diagnosis() -> None:
    corpus_or_skip()
    for truth_path in sorted(CORPUS.glob("*/truth.json")):
        truth = json.loads(truth_path.read_text())
        if truth["kind"] != "pair" or not truth["mapping"]["nothing_mapped"]:
            continue
        rep = analyze_path(truth_path.parent / truth["files"]["input"]["name"], T16)
        assert {f.code for f in rep.findings} & {"TPU701", "TPU702", "TPU703", "TPU705", "TPU706"}, truth["case"]


def test_tensorflow_version_finding_on_a_real_converter_model() -> None:
    """TF 2.21's dynamic-range CONV_2D is version 5: compiler 14.1 parses CONV_2D only up to v4."""
    rep = analyze_path(FIXTURES / "dynamic_range.tflite", Target(compiler="14.1"))
    (f,) = [f for f in rep.findings if f.code == "TPU709"]
    assert "CONV_2D v5" in f.observed and "TensorFlow ≤ 2.2 for compiler 14.1" in f.observed
    assert not [f for f in analyze_path(FIXTURES / "dynamic_range.tflite", T16).findings if f.code == "TPU709"]


def test_float_fallback_on_a_real_model() -> None:
    """MoveNet (Coral's PTQ build) keeps float ops (a CAST in, post-processing out): TPU707."""
    corpus_or_skip()
    case = CORPUS / "coral_td__movenet_single_pose_lightning_ptq"
    truth = json.loads((case / "truth.json").read_text())
    rep = analyze_path(case / truth["files"]["input"]["name"], T16)
    (f,) = [f for f in rep.findings if f.code == "TPU707"]
    assert f.op_index == 0 and "7 float32 ops among 123 integer ops" in f.observed
