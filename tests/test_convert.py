"""`tpulint convert`: SavedModel / Keras -> full-integer TFLite, then the check.

The first half runs everywhere (CI has no TensorFlow): the missing-TensorFlow message and exit 4,
argument errors (exit 2, one line), the pure helpers, and that `check` / `--help` never import
TensorFlow. The second half needs TensorFlow (``pytest.importorskip``) and converts tiny real
models: run it with a TensorFlow environment, e.g.
``PYTHONPATH=. /work/tfvenv/bin/python -m pytest tests/test_convert.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import FIXTURES, ROOT
from typer.testing import CliRunner

from tpulint import cli
from tpulint.convert import (
    INSTALL_HINT,
    ConvertError,
    InputInfo,
    _pick,
    _samples_from_array,
    first_line,
    normalization,
    parse_input_shapes,
    resolve_shapes,
)

runner = CliRunner()

# Runs the tpulint CLI with `import tensorflow` made to fail, as on a machine without it.
# The finder also records every attempt, so a test can tell "never tried" from "not installed".
BLOCKED_RUN = textwrap.dedent(
    """
    import sys
    attempts = []

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                attempts.append(name)
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    sys.argv = ["tpulint", *sys.argv[1:]]
    from tpulint.cli import main
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    sys.stdout.flush()
    print("ATTEMPTS=" + ",".join(attempts), "CONVERT_LOADED=" + str("tpulint.convert" in sys.modules), file=sys.stderr)
    sys.exit(code)
    """
)


def run_blocked(*args: str, cwd: Path | None = None) -> tuple[int, str, list[str], str]:
    """(exit code, stdout, stderr lines of tpulint, the import-probe line)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    r = subprocess.run(
        [sys.executable, "-c", BLOCKED_RUN, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )
    lines = r.stderr.splitlines()
    probe = lines[-1] if lines and lines[-1].startswith("ATTEMPTS=") else ""
    return r.returncode, r.stdout, [ln for ln in lines if not ln.startswith("ATTEMPTS=")], probe


@pytest.fixture
def inputs(tmp_path: Path) -> SimpleNamespace:
    """A model path with a Keras suffix (never loaded in these tests) and calibration data."""
    model = tmp_path / "model.keras"
    model.write_bytes(b"PK\x03\x04 not really a zip")
    data = tmp_path / "cal.npy"
    np.save(data, np.zeros((4, 8, 8, 3), np.float32))
    return SimpleNamespace(model=model, data=data, out=tmp_path / "out.tflite")


# --- without TensorFlow -------------------------------------------------------------------------------


def test_missing_tensorflow_is_one_line_and_exit_4(inputs: SimpleNamespace) -> None:
    code, out, err, probe = run_blocked("convert", str(inputs.model), "-r", str(inputs.data), "-o", str(inputs.out))
    assert code == cli.EXIT_TOOL_MISSING == 4
    assert err == [f"tpulint: error: {INSTALL_HINT}"]
    assert INSTALL_HINT == "tpulint convert needs TensorFlow: pip install 'tpulint[convert]'"
    assert out == ""
    assert "ATTEMPTS=tensorflow" in probe  # it really tried, and the blocker really answered
    assert not inputs.out.exists()


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["MISSING", "-r", "DATA", "-o", "OUT"], "no such file or directory"),
        (["MODEL", "-r", "NODATA", "-o", "OUT"], "no such file or directory (--representative)"),
        (["MODEL", "-r", "DATA", "-o", "DATA"], "is the input"),
        (["MODEL", "-r", "DATA", "-o", "MODEL"], "is the input"),
        (["DIR", "-r", "DATA", "-o", "OUT"], "not a SavedModel (no saved_model.pb in it)"),
        (["TFLITE", "-r", "DATA", "-o", "OUT"], "already a TFLite model"),
        (["MODEL", "-r", "MODEL", "-o", "OUT"], "--representative takes a .npy or .npz file or a directory"),
        (["MODEL", "-r", "DATA", "-o", "OUT", "--float-io", "--io-type", "int8"], "exclude each other"),
        (["MODEL", "-r", "DATA", "-o", "OUT", "--scale", "symmetric", "--mean", "127"], "exclude each other"),
        (["MODEL", "-r", "DATA", "-o", "OUT", "--std", "0"], "--std must be a non-zero number"),
        (["MODEL", "-r", "DATA", "-o", "OUT", "--input-shape", "1,a,3"], "expected positive integers"),
    ],
)
def test_argument_errors_exit_2_with_one_line(
    inputs: SimpleNamespace, tmp_path: Path, args: list[str], expect: str
) -> None:
    (tmp_path / "emptydir").mkdir()
    names = {
        "MISSING": str(tmp_path / "missing.keras"),
        "MODEL": str(inputs.model),
        "DATA": str(inputs.data),
        "NODATA": str(tmp_path / "nodata.npy"),
        "OUT": str(inputs.out),
        "DIR": str(tmp_path / "emptydir"),
        "TFLITE": str(FIXTURES / "int8_cnn.tflite"),
    }
    before = inputs.data.read_bytes(), inputs.model.read_bytes()
    code, out, err, probe = run_blocked("convert", *[names.get(a, a) for a in args])
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("tpulint: error: ") and expect in err[0], err
    assert out == ""
    assert "ATTEMPTS=tensorflow" not in probe  # checked before TensorFlow is imported
    assert (inputs.data.read_bytes(), inputs.model.read_bytes()) == before
    assert not inputs.out.exists()


def test_output_inside_saved_model_dir_refused(tmp_path: Path, inputs: SimpleNamespace) -> None:
    sm = tmp_path / "sm"
    sm.mkdir()
    (sm / "saved_model.pb").write_bytes(b"x")
    code, _, err, _ = run_blocked("convert", str(sm), "-r", str(inputs.data), "-o", str(sm / "saved_model.pb"))
    assert code == 2 and len(err) == 1 and "lies inside the input" in err[0]
    assert (sm / "saved_model.pb").read_bytes() == b"x"


def test_check_and_help_never_import_tensorflow() -> None:
    code, out, _, probe = run_blocked("check", str(FIXTURES / "int8_cnn.tflite"))
    assert code == 0 and "Outcome: full" in out
    assert probe == "ATTEMPTS= CONVERT_LOADED=False"
    code, out, _, probe = run_blocked("--help")
    assert code == 0 and "convert" in out
    assert probe == "ATTEMPTS= CONVERT_LOADED=False"
    code, out, _, probe = run_blocked("convert", "--help")
    assert code == 0 and "--representative" in out and "--io-type" in out
    assert probe == "ATTEMPTS= CONVERT_LOADED=False"


def test_parse_input_shapes() -> None:
    assert parse_input_shapes(["1,224,224,3"]) == {None: (1, 224, 224, 3)}
    assert parse_input_shapes(["a:1,8", "b: 1x4x4x3"]) == {"a": (1, 8), "b": (1, 4, 4, 3)}
    for bad in (["0,3"], [""], ["a:"], ["1,2", "3,4"]):
        with pytest.raises(ConvertError):
            parse_input_shapes(bad)


def test_normalization() -> None:
    assert normalization(None, None, None) == (0.0, 255.0)
    assert normalization("symmetric", None, None) == (127.5, 127.5)
    assert normalization("raw", None, None) == (0.0, 1.0)
    assert normalization(None, 127.5, None) == (127.5, 1.0)
    assert normalization(None, 123.7, 58.4) == (123.7, 58.4)


def test_resolve_shapes() -> None:
    img = InputInfo("image", (None, 16, 16, 3), "float32")
    assert resolve_shapes([img], {}) == [(1, 16, 16, 3)]
    assert resolve_shapes([InputInfo("image", (2, 16, 16, 3), "float32")], {}) == [(2, 16, 16, 3)]  # static: kept
    assert resolve_shapes([img], {None: (1, 16, 16, 3)}) == [(1, 16, 16, 3)]
    with pytest.raises(ConvertError, match=r"does not fit input 'image' \[\?,16,16,3\]"):
        resolve_shapes([img], {None: (1, 8, 8, 3)})
    spatial = InputInfo("image", (None, None, None, 3), "float32")
    with pytest.raises(ConvertError, match=r"dynamic dimensions \[\?,\?,\?,3\].*--input-shape 1,N,N,3"):
        resolve_shapes([spatial], {})
    assert resolve_shapes([spatial], {"image": (1, 32, 24, 3)}) == [(1, 32, 24, 3)]
    with pytest.raises(ConvertError, match="unknown rank"):
        resolve_shapes([InputInfo("x", None, "float32")], {})
    two = [InputInfo("a", (None, 4), "float32"), InputInfo("b", (None, 8), "float32")]
    assert resolve_shapes(two, {}) == [(1, 4), (1, 8)]
    with pytest.raises(ConvertError, match="NAME:1"):
        resolve_shapes(two, {None: (1, 4)})
    with pytest.raises(ConvertError, match="names no input 'c'"):
        resolve_shapes(two, {"c": (1, 4)})


def test_samples_from_array_shapes_and_dtype() -> None:
    info = InputInfo("x", (None, 4, 4, 3), SimpleNamespace(as_numpy_dtype=np.float32))
    flat = np.arange(10 * 48, dtype=np.float64).reshape(10, 4, 4, 3)
    got = _samples_from_array(flat, info, (1, 4, 4, 3), "a.npy", 5)
    assert len(got) == 5 and all(s.shape == (1, 4, 4, 3) and s.dtype == np.float32 for s in got)
    assert [int(s[0, 0, 0, 0]) for s in got] == [0, 96, 192, 288, 384]  # spread over the data: 0, 2, 4, 6, 8
    batched = flat.reshape(10, 1, 4, 4, 3)
    assert len(_samples_from_array(batched, info, (1, 4, 4, 3), "a.npy", 100)) == 10
    with pytest.raises(ConvertError, match=r"shaped \[10,4,4,3\] does not match input 'x' \[1,8,8,3\]"):
        _samples_from_array(flat, info, (1, 8, 8, 3), "a.npy", 5)
    with pytest.raises(ConvertError, match="no samples"):
        _samples_from_array(np.zeros((0, 4, 4, 3)), info, (1, 4, 4, 3), "a.npy", 5)
    with pytest.raises(ConvertError, match="not a numeric array"):
        _samples_from_array(np.array([["a"]]), info, (1, 4, 4, 3), "a.npy", 5)


def test_pick() -> None:
    assert _pick(3, 100) == [0, 1, 2]
    assert _pick(1000, 4) == [0, 250, 500, 750]


def test_first_line_of_converter_errors() -> None:
    mlir = (
        'loc(callsite(fused["BesselI0e:", "x@f"] at callsite("a.py":1:1))): '
        "error: 'tf.BesselI0e' op is neither a custom op nor a flex op\n"
        "error: failed while converting: 'main':\nSome ops are not supported by the native TFLite runtime"
    )
    assert first_line(RuntimeError(mlir)) == "'tf.BesselI0e' op is neither a custom op nor a flex op"
    assert first_line(ValueError("\n\n  The shape is wrong.\nmore")) == "The shape is wrong."
    assert first_line(KeyError()) == "KeyError"
    assert len(first_line(ValueError("x" * 1000))) == 300


def test_npz_multi_input_errors_without_tensorflow(tmp_path: Path) -> None:
    from tpulint.convert import load_array_data

    f32 = SimpleNamespace(as_numpy_dtype=np.float32)
    two = [InputInfo("a", (None, 4), f32), InputInfo("b", (None, 2), f32)]
    z = tmp_path / "d.npz"
    np.savez(z, a=np.ones((3, 4)), c=np.ones((3, 2)))
    with pytest.raises(ConvertError, match=r"one array per input name \(got a, c\)"):
        load_array_data(z, two, [(1, 4), (1, 2)], 10)
    np.savez(z, a=np.ones((3, 4)), b=np.full((3, 2), 2.0))
    samples = load_array_data(z, two, [(1, 4), (1, 2)], 10)
    assert len(samples) == 3 and [s.shape for s in samples[0]] == [(1, 4), (1, 2)] and samples[0][1][0, 0] == 2.0
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy")
    with pytest.raises(ConvertError, match="cannot read the array file"):
        load_array_data(bad, two[:1], [(1, 4)], 10)


# --- with TensorFlow -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def models(tf: Any, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A tiny CNN with a dynamic batch as .keras and as a SavedModel, a .npy and a few PNG images."""
    import contextlib
    import io

    keras = tf.keras
    d = tmp_path_factory.mktemp("convert")
    keras.utils.set_random_seed(7)
    inp = keras.Input((16, 16, 3), name="image")  # batch None
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(8, 1, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(4, bias_initializer="random_uniform")(x)
    model = keras.Model(inp, out)
    assert model.inputs[0].shape[0] is None
    model.save(d / "cnn.keras")
    with contextlib.redirect_stdout(io.StringIO()):
        if hasattr(model, "export"):
            model.export(str(d / "cnn_sm"))
        else:  # pragma: no cover - tf_keras
            tf.saved_model.save(model, str(d / "cnn_sm"))
    rng = np.random.default_rng(0)
    np.save(d / "cal.npy", rng.uniform(0, 1, (12, 16, 16, 3)).astype(np.float32))
    images = d / "images" / "class_a"
    images.mkdir(parents=True)
    for i, (h, w) in enumerate([(20, 30), (16, 16), (40, 12)]):  # other sizes: resized to 16x16
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        tf.io.write_file(str(images / f"img{i}.png"), tf.io.encode_png(pixels))
    (d / "images" / "notes.txt").write_text("not an image")
    return SimpleNamespace(
        dir=d, keras=d / "cnn.keras", saved_model=d / "cnn_sm", npy=d / "cal.npy", images=d / "images"
    )


def convert(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    """Run `tpulint convert ... -f json` in-process: (exit code, the JSON report or None, stderr)."""
    r = runner.invoke(cli.app, ["convert", *args, "-f", "json"])
    report = json.loads(r.stdout) if r.stdout.strip() else None  # stdout holds the report and nothing else
    return r.exit_code, report, r.stderr


def io_tensors(path: Path) -> tuple[list[Any], list[Any]]:
    from tpulint.model import load_model

    m = load_model(path)
    sg = m.subgraphs[0]
    return [sg.tensors[i] for i in sg.inputs], [sg.tensors[i] for i in sg.outputs]


def assert_fully_mapped(report: dict[str, Any] | None) -> None:
    assert report is not None
    (m,) = report["models"]
    s = m["summary"]
    assert m["ok"] and s["outcome"] == "full"
    assert s["ops_total"] >= 5 and s["ops_tpu"] == s["ops_total"] and s["ops_cpu"] == 0
    assert s["first_cpu_op"] is None
    ops = {o["opcode"] for o in m["ops"]}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"} <= ops and "DEQUANTIZE" not in ops


def test_keras_with_npy_uint8(tf: Any, models: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "cnn.tflite"
    code, report, err = convert(str(models.keras), "-r", str(models.npy), "-o", str(out), "--samples", "5")
    assert code == 0, err
    assert_fully_mapped(report)
    assert err.splitlines() == [
        f"tpulint: converted {models.keras} with TensorFlow {tf.__version__} -> {out} ({out.stat().st_size:,} bytes; "
        "uint8 I/O; input image [1,16,16,3]; 5 calibration samples)"
    ]
    ins, outs = io_tensors(out)
    assert [(t.dtype, t.shape) for t in ins] == [("UINT8", (1, 16, 16, 3))]
    assert all(d > 0 for d in ins[0].shape_signature or ins[0].shape)  # no dynamic batch left
    assert [(t.dtype, t.shape) for t in outs] == [("UINT8", (1, 4))]


def test_saved_model_with_images_int8_in_a_subprocess(tf: Any, models: SimpleNamespace, tmp_path: Path) -> None:
    """Also a real process: TensorFlow's C++ logs must reach neither stdout (JSON) nor stderr."""
    out = tmp_path / "cnn_int8.tflite"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "0"}  # even with every log on
    args = ["convert", str(models.saved_model), "-r", str(models.images), "-o", str(out), "--io-type", "int8"]
    r = subprocess.run(
        [sys.executable, "-m", "tpulint.cli", *args, "-f", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert_fully_mapped(json.loads(r.stdout))
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and f"with TensorFlow {tf.__version__}" in lines[0]
    assert "int8 I/O; input image [1,16,16,3]; 3 calibration samples" in lines[0]
    ins, outs = io_tensors(out)
    assert [(t.dtype, t.shape) for t in ins] == [("INT8", (1, 16, 16, 3))]
    assert [t.dtype for t in outs] == ["INT8"]
    q = ins[0].quantization  # images scaled to [0, 1] by default: 1/255 per step, 0.0 at -128
    assert q is not None and q.scale[0] == pytest.approx(1 / 255, rel=0.1) and q.zero_point[0] == -128


def test_image_normalization_reaches_the_model(models: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "sym.tflite"
    code, report, err = convert(str(models.keras), "-r", str(models.images), "-o", str(out), "--scale", "symmetric")
    assert code == 0 and report is not None, err
    (q,) = [t.quantization for t in io_tensors(out)[0]]  # [-1, 1] in uint8: 2/255 per step, 0.0 at 128
    assert q is not None and q.scale[0] == pytest.approx(2 / 255, rel=0.1) and abs(q.zero_point[0] - 128) <= 3
    code, _, err = convert(str(models.keras), "-r", str(models.images), "-o", str(out), "--mean", "0", "--std", "1")
    assert code == 0, err
    (q,) = [t.quantization for t in io_tensors(out)[0]]  # raw 0..255 pixels
    assert q is not None and q.scale[0] == pytest.approx(1.0, rel=0.1) and q.zero_point[0] == 0


def test_float_io_leaves_quantize_and_dequantize_on_the_cpu(models: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "float_io.tflite"
    code, report, err = convert(str(models.keras), "-r", str(models.npy), "-o", str(out), "--float-io")
    assert code == 1, err  # CPU ops: exit 1, as `tpulint check` gives
    assert report is not None
    (m,) = report["models"]
    placement = {o["opcode"]: o["placement"] for o in m["ops"] if o["opcode"] in ("QUANTIZE", "DEQUANTIZE")}
    assert placement == {"QUANTIZE": "cpu", "DEQUANTIZE": "cpu"}
    assert m["summary"]["ops_cpu"] == 2 and m["summary"]["outcome"] == "partial"
    ins, outs = io_tensors(out)
    assert [t.dtype for t in ins + outs] == ["FLOAT32", "FLOAT32"]
    assert "float32 I/O" in err


def test_text_report_is_the_check_report(models: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "cnn.tflite"
    r = runner.invoke(cli.app, ["convert", str(models.keras), "-r", str(models.npy), "-o", str(out), "--no-color"])
    assert r.exit_code == 0, r.stderr
    checked = runner.invoke(cli.app, ["check", str(out), "--no-color"])
    assert checked.exit_code == 0 and "Outcome: full" in checked.stdout
    assert r.stdout == checked.stdout


def test_dynamic_spatial_dims_need_input_shape(tf: Any, tmp_path: Path) -> None:
    keras = tf.keras
    inp = keras.Input((None, None, 3), name="pixels")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    model = keras.Model(inp, keras.layers.Conv2D(2, 1)(x))
    path = tmp_path / "fcn.keras"
    model.save(path)
    data = tmp_path / "d.npy"
    np.save(data, np.random.default_rng(1).uniform(0, 1, (4, 12, 10, 3)).astype(np.float32))
    out = tmp_path / "fcn.tflite"
    code, report, err = convert(str(path), "-r", str(data), "-o", str(out))
    assert code == 2 and report is None and not out.exists()
    assert err.splitlines() == [
        "tpulint: error: input 'pixels' has dynamic dimensions [?,?,?,3]: give its full shape, "
        "e.g. --input-shape 1,N,N,3"
    ]
    code, report, err = convert(str(path), "-r", str(data), "-o", str(out), "--input-shape", "1,12,10,3")
    assert code == 0, err
    assert report is not None and report["models"][0]["summary"]["outcome"] == "full"
    ins, _ = io_tensors(out)
    assert ins[0].shape == (1, 12, 10, 3) and ins[0].dtype == "UINT8"


def test_data_errors_are_one_line_exit_2(models: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "x.tflite"
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((3, 8, 8, 3), np.float32))
    empty = tmp_path / "no_images"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"\x89PNG not really")
    cases = [
        (wrong, f"{wrong}: calibration data shaped [3,8,8,3] does not match input 'image' [1,16,16,3]"),
        (empty, f"{empty}: no images (.jpg, .jpeg, .png, .bmp) in the directory"),
        (broken, f"{broken / 'a.png'}: cannot read the image"),
    ]
    for data, expect in cases:
        code, report, err = convert(str(models.saved_model), "-r", str(data), "-o", str(out))
        assert code == 2 and report is None, err
        assert len(err.splitlines()) == 1 and err.startswith("tpulint: error: " + expect), err
        assert not out.exists()


def test_conversion_failure_is_one_line_exit_2(tf: Any, tmp_path: Path) -> None:
    class Odd(tf.Module):  # type: ignore[misc]
        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])  # type: ignore[misc]
        def serve(self, x: Any) -> Any:
            return {"y": tf.math.bessel_i0e(x)}  # no TFLite builtin for BesselI0e

    m = Odd()
    sm = tmp_path / "odd"
    tf.saved_model.save(m, str(sm), signatures={"serving_default": m.serve})
    data = tmp_path / "d.npy"
    np.save(data, np.ones((2, 4), np.float32))
    out = tmp_path / "odd.tflite"
    code, report, err = convert(str(sm), "-r", str(data), "-o", str(out))
    assert code == 2 and report is None and not out.exists()
    assert err.splitlines() == [
        "tpulint: error: conversion failed: 'tf.BesselI0e' op is neither a custom op nor a flex op"
    ]


def test_multi_input_model(tf: Any, tmp_path: Path) -> None:
    keras = tf.keras
    a = keras.Input((8, 8, 3), name="left")
    b = keras.Input((8, 8, 3), name="right")
    x = keras.layers.Add()([keras.layers.Conv2D(4, 1)(a), keras.layers.Conv2D(4, 1)(b)])
    model = keras.Model([a, b], keras.layers.Conv2D(2, 1, activation="relu")(x))
    path = tmp_path / "two.keras"
    model.save(path)
    rng = np.random.default_rng(2)
    npy = tmp_path / "one.npy"
    np.save(npy, rng.uniform(0, 1, (4, 8, 8, 3)).astype(np.float32))
    out = tmp_path / "two.tflite"
    code, _, err = convert(str(path), "-r", str(npy), "-o", str(out))
    assert code == 2 and err.splitlines() == [
        "tpulint: error: the model has 2 inputs (left, right): give an .npz with one array per input name"
    ]
    npz = tmp_path / "two.npz"
    np.savez(npz, left=rng.uniform(0, 1, (4, 8, 8, 3)), right=rng.uniform(0, 1, (4, 1, 8, 8, 3)))
    code, report, err = convert(str(path), "-r", str(npz), "-o", str(out))
    assert code == 0, err
    assert report is not None and report["models"][0]["summary"]["outcome"] == "full"
    ins, outs = io_tensors(out)
    assert sorted((t.dtype, t.shape) for t in ins) == [("UINT8", (1, 8, 8, 3))] * 2
    assert [t.dtype for t in outs] == ["UINT8"]


def test_unloadable_models_are_one_line_exit_2(models: SimpleNamespace, tmp_path: Path) -> None:
    fake_keras = tmp_path / "fake.keras"
    fake_keras.write_bytes(b"garbage")
    fake_sm = tmp_path / "fake_sm"
    fake_sm.mkdir()
    (fake_sm / "saved_model.pb").write_bytes(b"garbage")
    out = tmp_path / "x.tflite"
    for model, expect in ((fake_keras, "cannot load the Keras model: "), (fake_sm, "cannot load the SavedModel: ")):
        code, report, err = convert(str(model), "-r", str(models.npy), "-o", str(out))
        assert code == 2 and report is None and not out.exists()
        assert len(err.splitlines()) == 1 and err.startswith(f"tpulint: error: {model}: {expect}"), err
