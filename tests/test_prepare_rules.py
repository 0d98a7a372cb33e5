"""TPU205-TPU209: quantization that TFLite's kernels refuse when the compiler prepares the model.

A real converter-made model (fixtures/rule_TPU205_dead_relu.tflite: TensorFlow 2.3's default
quantizer, see fixtures/make_prepare_fixtures.py), one-op models at the measured boundaries of each
condition, and, where a TFLite interpreter is installed (ai-edge-litert or tensorflow), the same
one-op models loaded into it: the interpreter must refuse exactly the models tpulint flags for
compiler 16.0 (whose TFLite has every check a current interpreter has for these cases).
"""

from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from builders import M, O, T, build

import tpulint
from tpulint.analyze import analyze_model
from tpulint.context import Target
from tpulint.model import parse_model
from tpulint.report import ModelReport

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "rule_TPU205_dead_relu.tflite"
PREPARE_CODES = {"TPU205", "TPU206", "TPU207", "TPU208", "TPU209", "TPU305"}


def f32(x: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", x))[0])


def below(x: float) -> float:
    """The float32 just below positive ``x``."""
    (bits,) = struct.unpack("<I", struct.pack("<f", x))
    return float(struct.unpack("<f", struct.pack("<I", bits - 1))[0])


def check(m: M, compiler: str = "16.0") -> ModelReport:
    return analyze_model(parse_model(build(m)), Target(compiler=compiler), label="test.tflite")


def prepare_findings(rep: ModelReport) -> list[tuple[str, int | None]]:
    return [(f.code, f.op_index) for f in rep.findings if f.code in PREPARE_CODES]


def conv(
    out_scale: float = 0.05,
    activation: int = 0,
    *,
    dtype: str = "INT8",
    opcode: str = "CONV_2D",
    bias: T | None = None,
    with_bias: bool = True,
    w_dtype: str | None = None,
    w_scale: list[float] | None = None,
    out_dtype: str | None = None,
) -> M:
    """input [1,4,4,2] -> one CONV_2D / DEPTHWISE_CONV_2D (fused ``activation``) -> output."""
    w_dtype, out_dtype, w_scale = w_dtype or dtype, out_dtype or dtype, w_scale or [0.01]
    w_shape = [2, 1, 1, 2] if opcode == "CONV_2D" else [1, 1, 1, 2]

    def zp(t: str) -> int:
        return 0 if t == "INT8" else 128

    tensors = [
        T("x", [1, 4, 4, 2], dtype, scale=[0.05], zero_point=[zp(dtype)]),
        T("w", w_shape, w_dtype, data=bytes(4), scale=w_scale, zero_point=[zp(w_dtype)] * len(w_scale)),
        T("y", [1, 4, 4, 2], out_dtype, scale=[out_scale], zero_point=[zp(out_dtype)]),
    ]
    inputs: list[str | None] = ["x", "w"]
    if with_bias:
        tensors.append(bias or T("b", [2], "INT32", data=bytes(8)))
        inputs.append(tensors[-1].name)
    name = "Conv2DOptions" if opcode == "CONV_2D" else "DepthwiseConv2DOptions"
    fields = {"StrideH": 1, "StrideW": 1, "FusedActivationFunction": activation}
    if opcode == "DEPTHWISE_CONV_2D":
        fields["DepthMultiplier"] = 1
    op = O(opcode, inputs, ["y"], version=3, options=(name, fields))
    return M(tensors=tensors, ops=[op], inputs=["x"], outputs=["y"])


def dense(bias_scale: float | None, out_scale: float = 0.05, dtype: str = "INT8", w_scale: float = 0.01) -> M:
    """input [1,4] -> FULLY_CONNECTED (bias with ``bias_scale``; None: the converter's) -> [1,3]."""
    zp = 0 if dtype == "INT8" else 128
    bias = T("b", [3], "INT32", data=bytes(12), scale=[bias_scale] if bias_scale is not None else None)
    return M(
        tensors=[
            T("x", [1, 4], dtype, scale=[0.05], zero_point=[zp]),
            T("w", [3, 4], dtype, data=bytes(12), scale=[w_scale], zero_point=[zp]),
            bias,
            T("y", [1, 3], dtype, scale=[out_scale], zero_point=[zp]),
        ],
        ops=[O("FULLY_CONNECTED", ["x", "w", "b"], ["y"], version=4, options=("FullyConnectedOptions", {}))],
        inputs=["x"],
        outputs=["y"],
    )


def one_op(
    opcode: str,
    inputs: list[T],
    output: T,
    options: tuple[str, dict[str, object]] | None = None,
    version: int = 1,
) -> M:
    """One op reading ``inputs`` (constants allowed) and writing ``output``."""
    return M(
        tensors=[*inputs, output],
        ops=[O(opcode, [t.name for t in inputs], [output.name], version=version, options=options)],
        inputs=[t.name for t in inputs if t.data is None],
        outputs=[output.name],
    )


def act(name: str, dtype: str = "INT8", scale: float = 0.05, zp: int = 0, shape: list[int] | None = None) -> T:
    return T(name, shape or [1, 4, 4, 2], dtype, scale=[scale], zero_point=[zp])


def transpose_conv(x: T, bias: T) -> M:
    """[1,4,4,2] ``x`` -> TRANSPOSE_CONV (int8 1x1 filter, ``bias``) -> [1,4,4,2] of ``x``'s type."""
    shape = T("s", [4], "INT32", data=struct.pack("<4i", 1, 4, 4, 2))
    w = T("w", [2, 1, 1, 2], "INT8", data=bytes(4), scale=[0.01])
    y = act("y") if x.dtype == "INT8" else T("y", [1, 4, 4, 2], x.dtype)
    return one_op("TRANSPOSE_CONV", [shape, w, x, bias], y, ("TransposeConvOptions", {"StrideH": 1, "StrideW": 1}), 3)


RELU, RELU_N1_TO_1, RELU6 = 1, 2, 3
CONCAT = ("ConcatenationOptions", {"Axis": 3})
PACK = ("PackOptions", {"ValuesCount": 2, "Axis": 0})

# (label, model, codes flagged for compiler 16.0): every boundary measured on the TF 2.3-2.6 wheels.
CASES: list[tuple[str, M, list[tuple[str, int]]]] = [
    ("relu6 at 6/2^31 passes", conv(f32(6 / 2**31), RELU6), []),
    ("relu6 one float below fails", conv(below(f32(6 / 2**31)), RELU6), [("TPU205", 0)]),
    ("relu with a tiny scale passes", conv(1e-40, RELU), []),
    ("relu with scale 0 fails", conv(0.0, RELU), [("TPU205", 0)]),
    ("no activation with scale 0 passes", conv(0.0, 0), []),
    ("relu_n1_to_1 at 2^-31 passes", conv(2.0**-31, RELU_N1_TO_1), []),
    ("relu_n1_to_1 one float below fails", conv(below(2.0**-31), RELU_N1_TO_1), [("TPU205", 0)]),
    ("depthwise relu6 with scale 0 fails", conv(0.0, RELU6, opcode="DEPTHWISE_CONV_2D"), [("TPU205", 0)]),
    ("int8 bias on a conv", conv(bias=T("b", [2], "INT8", data=bytes(2))), [("TPU207", 0)]),
    ("quantized conv without a bias", conv(with_bias=False), [("TPU207", 0)]),
    ("depthwise without a bias passes", conv(opcode="DEPTHWISE_CONV_2D", with_bias=False), []),
    (
        "bias with zero point 5",
        conv(bias=T("b", [2], "INT32", data=bytes(8), scale=[0.0005], zero_point=[5])),
        [("TPU207", 0)],
    ),
    ("bias of the wrong length", conv(bias=T("b", [3], "INT32", data=bytes(12), scale=[0.0005])), [("TPU207", 0)]),
    # TRANSPOSE_CONV: inputs (output shape, filter, data, bias): the data is input 2, the bias input 3.
    ("transpose conv with an int32 bias passes", transpose_conv(act("x"), T("b", [2], "INT32", data=bytes(8))), []),
    (
        "transpose conv with an int8 bias fails",
        transpose_conv(act("x"), T("b", [2], "INT8", data=bytes(2))),
        [("TPU207", 0)],
    ),
    (
        "transpose conv of float data with a float bias passes",
        transpose_conv(T("x", [1, 4, 4, 2], "FLOAT32"), T("b", [2], "FLOAT32", data=bytes(8))),
        [],
    ),
    ("int8 conv ignores the bias scale", conv(bias=T("b", [2], "INT32", data=bytes(8), scale=[0.5])), []),
    ("int8 dense, bias off by 1.9% of the output scale", dense(f32(0.05) * f32(0.01) + 0.019 * f32(0.05)), []),
    (
        "int8 dense, bias off by 2.1% of the output scale",
        dense(f32(0.05) * f32(0.01) + 0.021 * f32(0.05)),
        [("TPU206", 0)],
    ),
    ("uint8 dense with output scale 1e-9 fails", dense(None, out_scale=1e-9, dtype="UINT8"), [("TPU206", 0)]),
    ("uint8 dense with output scale 3e-9 passes", dense(None, out_scale=3e-9, dtype="UINT8"), []),
    # TPU208: fixed output parameters, and the output's parameters on every input.
    ("logistic at 1/256 passes", one_op("LOGISTIC", [act("x")], act("y", scale=1 / 256, zp=-128)), []),
    ("logistic at 0.004 fails", one_op("LOGISTIC", [act("x")], act("y", scale=0.004, zp=-128)), [("TPU208", 0)]),
    (
        "l2 normalization with zero point 5 fails",
        one_op("L2_NORMALIZATION", [act("x")], act("y", scale=1 / 128, zp=5), ("L2NormOptions", {})),
        [("TPU208", 0)],
    ),
    (
        "log softmax at 16/256 and zero point 127 passes",
        one_op("LOG_SOFTMAX", [act("x")], act("y", scale=1 / 16, zp=127), ("LogSoftmaxOptions", {})),
        [],
    ),
    (
        "log softmax with zero point 0 fails",
        one_op("LOG_SOFTMAX", [act("x")], act("y", scale=1 / 16, zp=0), ("LogSoftmaxOptions", {})),
        [("TPU208", 0)],
    ),
    (
        "int8 concatenation of equal scales passes",
        one_op("CONCATENATION", [act("a"), act("b")], act("y", shape=[1, 4, 4, 4]), CONCAT),
        [],
    ),
    (
        "int8 concatenation of other scales fails",
        one_op("CONCATENATION", [act("a", scale=0.02), act("b")], act("y", shape=[1, 4, 4, 4]), CONCAT),
        [("TPU208", 0)],
    ),
    (
        "uint8 concatenation rescales and passes",
        one_op(
            "CONCATENATION",
            [act("a", "UINT8", 0.02, 128), act("b", "UINT8", 0.05, 128)],
            act("y", "UINT8", 0.05, 128, [1, 4, 4, 4]),
            CONCAT,
        ),
        [],
    ),
    (
        "pack with another zero point fails",
        one_op("PACK", [act("a", zp=3), act("b")], act("y", shape=[2, 1, 4, 4, 2]), PACK),
        [("TPU208", 0)],
    ),
    (
        "hard swish with output scale input/128 fails",
        one_op("HARD_SWISH", [act("x")], act("y", scale=f32(0.05 / 128))),
        [("TPU208", 0)],
    ),
    ("hard swish with a larger output scale passes", one_op("HARD_SWISH", [act("x")], act("y", scale=0.05)), []),
    (
        "average pool with another output scale passes on 16.0",
        one_op(
            "AVERAGE_POOL_2D",
            [act("x")],
            act("y", scale=0.1),
            ("Pool2DOptions", {"StrideW": 1, "StrideH": 1, "FilterWidth": 1, "FilterHeight": 1}),
        ),
        [],
    ),
    # TPU209: types.
    (
        "add of int8 and uint8 fails",
        one_op("ADD", [act("a"), act("b", "UINT8", zp=128)], act("y"), ("AddOptions", {})),
        [("TPU209", 0)],
    ),
    (
        "sub with an output zero point of 200 fails",
        one_op("SUB", [act("a"), act("b")], act("y", zp=200), ("SubOptions", {})),
        [("TPU209", 0)],
    ),
    (
        "uint8 depthwise with an int8 filter fails",
        conv(dtype="UINT8", opcode="DEPTHWISE_CONV_2D", w_dtype="INT8"),
        [("TPU209", 0)],
    ),
    ("uint8 conv with an int8 filter passes", conv(dtype="UINT8", w_dtype="INT8"), []),
    ("int8 conv with a uint8 output fails", conv(out_dtype="UINT8"), [("TPU209", 0)]),
    (
        "uint8 conv with a per-channel filter fails",
        conv(dtype="UINT8", w_dtype="INT8", w_scale=[0.01, 0.02]),
        [("TPU209", 0)],
    ),
]


@pytest.mark.parametrize(("label", "model", "expected"), CASES, ids=[c[0] for c in CASES])
def test_boundaries_on_compiler_16(label: str, model: M, expected: list[tuple[str, int]]) -> None:
    rep = check(model)
    assert prepare_findings(rep) == expected, label
    assert (rep.summary.outcome == "compile_error") == bool(expected), label


def test_activation_overflow_is_a_16_0_check_only() -> None:
    m = conv(0.0, RELU6)
    assert prepare_findings(check(m, "16.0")) == [("TPU205", 0)]
    for compiler in ("15.0", "14.1", "2.1"):
        assert prepare_findings(check(m, compiler)) == [], compiler


def test_bias_scale_rule_of_old_compilers_is_relative_to_the_product() -> None:
    product = f32(0.05) * f32(0.01)
    assert prepare_findings(check(dense(product * 1.00001), "2.1")) == [("TPU206", 0)]
    assert prepare_findings(check(dense(product * 1.0000005), "2.1")) == []
    assert prepare_findings(check(dense(product * 1.00001), "16.0")) == []  # far below 2% of the output scale


def test_negative_scale_product_on_14_1() -> None:
    m = dense(-f32(0.05) * f32(0.01), dtype="UINT8", w_scale=-0.01)
    rep = check(m, "14.1")
    assert prepare_findings(rep) == [("TPU206", 0)]
    assert ":167 input_product_scale >= 0 was not true." in (rep.summary.compiler_error or "")
    # TF <= 2.2 has no sign check, but its relative rule (x 1e-6 of the smaller, here negative) refuses it
    # too (measured on TF 2.2: kernel_util.cc:129).
    old_rep = check(m, "2.1")
    assert prepare_findings(old_rep) == [("TPU206", 0)]
    assert ":129 std::abs(input_product_scale - bias_scale) <= 1e-6" in (old_rep.summary.compiler_error or "")


def test_first_failing_node_and_check_is_the_compiler_error() -> None:
    """uint8 dense with output scale 0 and RELU6: the bias-scale check runs before the activation
    check in the kernel, so the error is TPU206's even though TPU205 (a lower code) also fires."""
    m = dense(None, out_scale=0.0, dtype="UINT8")
    m.ops[0].options = ("FullyConnectedOptions", {"FusedActivationFunction": RELU6})
    rep = check(m)
    assert sorted(prepare_findings(rep)) == [("TPU205", 0), ("TPU206", 0)]
    assert "scale_diff / output_scale <= 0.02 was not true." in (rep.summary.compiler_error or "")


def test_converter_made_model_fails_as_the_real_tflite_does() -> None:
    """TF 2.6 (16.0's TFLite) refuses node 2 (RELU6 at scale 4.6e-41); TF 2.3 (14.1) refuses node 4
    (the Dense layer's inf weight and bias scales): both measured with the real wheels."""
    rep = tpulint.check(FIXTURE, compiler="16.0")
    assert rep.summary.outcome == "compile_error"
    assert rep.summary.compiler_error == (
        "ERROR: :344 no_integer_overflow_from_quantization was not true.\n"
        "ERROR: Node number 2 (CONV_2D) failed to prepare.\n\n"
        "Compilation failed: Model failed in Tflite interpreter. "
        "Please ensure model can be loaded/run in Tflite interpreter."
    )
    assert prepare_findings(rep) == [("TPU205", 2), ("TPU206", 4)]
    assert all(o.placement == "cpu" for o in rep.ops)
    old = tpulint.check(FIXTURE, compiler="14.1")
    assert prepare_findings(old) == [("TPU206", 4)]
    assert (old.summary.compiler_error or "").startswith(
        "ERROR: :154 scale_diff / output_scale <= 0.02 was not true.\n"
        "ERROR: Node number 4 (FULLY_CONNECTED) failed to prepare."
    )
    assert "Internal compiler error. Aborting!" in (old.summary.compiler_error or "")
    assert prepare_findings(tpulint.check(FIXTURE, compiler="15.0")) == [("TPU206", 4)]


# ---- the same one-op models in a real TFLite interpreter, when one is installed -----------------

# The kernels alone: without the default XNNPACK delegate, which refuses degenerate scales itself.
_LOADER = """
import sys
try:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
except ImportError:
    from tensorflow.lite import Interpreter
    from tensorflow.lite.experimental import OpResolverType
try:
    kernels_only = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    Interpreter(model_content=sys.stdin.buffer.read(), experimental_op_resolver_type=kernels_only).allocate_tensors()
    print("OK")
except Exception as error:
    print("REFUSED", str(error).replace(chr(10), " "))
"""


def _interpreter_installed() -> bool:
    return any(importlib.util.find_spec(name) is not None for name in ("ai_edge_litert", "tensorflow"))


@pytest.mark.skipif(
    not _interpreter_installed(), reason="no TFLite interpreter (ai-edge-litert or tensorflow) installed"
)
@pytest.mark.parametrize(("label", "model", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_real_interpreter_refuses_exactly_the_flagged_models(
    label: str, model: M, expected: list[tuple[str, int]]
) -> None:
    # One process per model: a degenerate model may crash an interpreter instead of raising.
    run = subprocess.run(
        [sys.executable, "-c", _LOADER], input=build(model), capture_output=True, timeout=120, check=False
    )
    out = run.stdout.decode(errors="replace").strip()
    assert out.startswith(("OK", "REFUSED")), f"{label}: interpreter exited {run.returncode}: {run.stderr[-300:]!r}"
    assert out.startswith("REFUSED") == bool(expected), f"{label}: {out}"


# ---- the real compiler's logs of these failures (fixtures/compiler_logs, SOURCES.md) ------------

LOGS = Path(__file__).resolve().parent.parent / "fixtures" / "compiler_logs"


def _lines(text: str) -> list[str]:
    """Non-empty lines, in order (14.1 prints the two ERROR lines twice: so does the prediction)."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def _error_lines(log: str) -> list[str]:
    from tpulint.compiler.logparse import parse_compiler_output

    out = parse_compiler_output((LOGS / log).read_text(encoding="utf-8"))
    assert not out.success
    return _lines("\n".join(out.error_text))


def _chain(n: int, last: O, extra: list[T]) -> M:
    """``n`` int8 RELU ops, then ``last`` reading the chain's end ("x{n}") and ``extra``."""
    tensors = [act(f"x{k}") for k in range(n + 1)]
    ops = [O("RELU", [f"x{k}"], [f"x{k + 1}"]) for k in range(n)]
    free = [t.name for t in extra if t.data is None and t.name not in last.outputs]
    return M(tensors=tensors + extra, ops=[*ops, last], inputs=["x0", *free], outputs=[last.outputs[0]])


def test_prediction_matches_the_real_14_1_log_of_an_int8_conv_bias() -> None:
    """edgetpu#212 (14.1): node 2, a CONV_2D with an INT8 bias."""
    extra = [
        T("w", [2, 1, 1, 2], "INT8", data=bytes(4), scale=[0.01]),
        T("b", [2], "INT8", data=bytes(2), scale=[0.0005]),
        act("y"),
    ]
    conv_op = O("CONV_2D", ["x2", "w", "b"], ["y"], version=3, options=("Conv2DOptions", {"StrideH": 1, "StrideW": 1}))
    rep = check(_chain(2, conv_op, extra), "14.1")
    assert prepare_findings(rep) == [("TPU207", 2)]
    assert _lines(rep.summary.compiler_error or "") == _error_lines("rules_2_6m_edgetpu212_14.1_prepare_bias_type.txt")


def test_prediction_matches_the_real_14_1_log_of_a_pack_zero_point() -> None:
    """edgetpu#244 (14.1): node 28, a PACK whose input zero point 113 is not its output's 0."""
    extra = [act("p", zp=113), T("y", [2, 1, 4, 4, 2], "INT8", scale=[0.05], zero_point=[0])]
    pack = O("PACK", ["x28", "p"], ["y"], options=PACK)
    m = _chain(28, pack, extra)
    m.tensors[28].zero_point = [113]  # the PACK's first input
    rep = check(m, "14.1")
    assert prepare_findings(rep) == [("TPU208", 28)]
    assert _lines(rep.summary.compiler_error or "") == _error_lines("rules_2_6n_edgetpu244_14.1_prepare_pack.txt")


def test_prediction_matches_the_real_16_0_log_of_an_activation_overflow() -> None:
    """edgetpu#453 (16.0): its model is not public; the converter-made fixture fails the same check,
    at its own node, with the same lines."""
    real = _error_lines("rules_2_6l_edgetpu453_16.0_prepare_overflow.txt")
    predicted = _lines(tpulint.check(FIXTURE, compiler="16.0").summary.compiler_error or "")
    assert real[1] == "ERROR: Node number 31 (CONV_2D) failed to prepare."
    assert predicted == [real[0], "ERROR: Node number 2 (CONV_2D) failed to prepare.", real[2]]


def test_concatenation_of_unequal_branches() -> None:
    """edgetpu#891 (16.0): 'ERROR: :80 t->dims->data[d] != t0->dims->data[d] (9 != 13)' for an SPP
    block whose branches differ in size. TFLite 2.14 and newer run such a model (so a current
    interpreter cannot cross-check this one); TF 2.3-2.6 refuse it (measured)."""
    a = act("a", shape=[1, 13, 13, 2])
    b = act("b", shape=[1, 9, 9, 2])
    m = one_op("CONCATENATION", [a, b], act("y", shape=[1, 13, 13, 4]), CONCAT)
    rep = check(m)
    assert prepare_findings(rep) == [("TPU305", 0)]
    assert (rep.summary.compiler_error or "").startswith(
        "ERROR: :80 t->dims->data[d] != t0->dims->data[d] (9 != 13)\n"
        "ERROR: Node number 0 (CONCATENATION) failed to prepare.\n"
    )
    same = one_op("CONCATENATION", [a, act("c", shape=[1, 13, 13, 2])], act("y", shape=[1, 13, 13, 4]), CONCAT)
    assert prepare_findings(check(same)) == []
