"""TPU205-TPU209, TPU305: what TFLite's kernels refuse when the compiler prepares the model.

edgetpu_compiler loads the model into the TFLite interpreter it embeds and prepares every node
before it maps anything; a node whose kernel refuses its quantization makes the whole compilation
fail ("Node number N (OP) failed to prepare"). The conditions, the kernels that check them and the
compilers whose TFLite has each check are data in ``rules/prepare.toml``; the arithmetic is
TFLite's own (float32 division, round half away from zero, IEEE inf and NaN: ``tpulint.float32``).

Each violation carries, in ``extra``, the line the compiler's log prints for it (``detail``) and a
rank (``precedence``) that orders the checks of one node as the kernel runs them, so that the
predicted error is the one TFLite reports first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

from tpulint.checks.ops import ACTIVATIONS
from tpulint.context import ModelContext
from tpulint.float32 import divide, f32, f32_divide, f32_multiply, fits_int32, multiply, round_half_away
from tpulint.graph import Graph
from tpulint.model import Op, Tensor
from tpulint.quantmode import EIGHT_BIT
from tpulint.registry import Violation, rule
from tpulint.ruledata import prepare_checks

# Order of the checks within one node (the kernel's order): types, bias format, bias scale, fixed
# or shared quantization, activation range.
TYPES, BIAS_FORMAT, BIAS_SCALE, KERNEL_QUANTIZATION, ACTIVATION_RANGE = 0, 1, 2, 3, 4


def legacy_params(t: Tensor | None) -> tuple[float, int]:
    """``TfLiteTensor.params`` (scale, zero point): set only for a single scale and zero point,
    else (0, 0), as TFLite's interpreter builder does (per-channel tensors have no legacy params)."""
    q = t.quantization if t is not None else None
    if q is None or q.channels != 1 or len(q.zero_point) != 1:  # channels first: no per-channel decode
        return 0.0, 0
    return q.scale[0], q.zero_point[0]


def _ops(g: Graph, opcodes: Iterable[str]) -> Iterator[Op]:
    """The ops of these types (a rule looks only at the types whose kernels have its check), by
    type in the order of ``opcodes``."""
    return chain.from_iterable(map(g.ops_of_type, opcodes))  # no Python step per op


# |bound| / scale stays far inside int32 for any output scale at least this large (and finite):
# the largest bound is 6, and 6 / 1e-8 = 6e8 < 2^31. Only smaller, zero or NaN scales are checked
# with TFLite's float32 arithmetic.
_SAFE_SCALE = 1e-8


def _line(table: dict[str, Any], key: str, compiler: str) -> int | None:
    lines = table.get(key, {})
    line = lines.get(compiler)
    return int(line) if line is not None else None


def _detail(condition: str, line: int | None) -> str:
    """The TFLite error text as the compiler prints it (after ``ERROR: ``): ``:<line> <condition>``."""
    return f":{line} {condition}" if line is not None else condition


def _tensor(g: Graph, op: Op, i: int) -> Tensor | None:
    """Input ``i`` of ``op`` (None when absent or -1). Called several times per op and rule: it
    indexes the subgraph's tensors itself rather than through ``Graph.tensor``."""
    inputs = op.inputs
    if i < len(inputs) and (t := inputs[i]) >= 0:
        return g.subgraph.tensors[t]
    return None


def _output(g: Graph, op: Op) -> Tensor | None:
    outputs = op.outputs
    return g.subgraph.tensors[outputs[0]] if outputs and outputs[0] >= 0 else None


def _operands(g: Graph, op: Op) -> tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None]:
    """Inputs 0, 1 and 2 and output 0 of ``op`` (:func:`_tensor`, :func:`_output`) in one call:
    the kernel checks read most of them for every op of their types."""
    tensors = g.subgraph.tensors
    inputs, outputs = op.inputs, op.outputs
    n = len(inputs)
    return (
        tensors[inputs[0]] if n and inputs[0] >= 0 else None,
        tensors[inputs[1]] if n > 1 and inputs[1] >= 0 else None,
        tensors[inputs[2]] if n > 2 and inputs[2] >= 0 else None,
        tensors[outputs[0]] if outputs and outputs[0] >= 0 else None,
    )


def _violation(g: Graph, op: Op, observed: str, detail: str, precedence: int) -> Violation:
    return Violation(
        observed=observed,
        op_index=op.index,
        subgraph=g.subgraph.index,
        extra={"op": op.opcode, "detail": detail, "precedence": precedence},
    )


def _fmt_scale(x: float) -> str:
    return "0" if x == 0 else f"{x:.7g}"


def _add_sub_aborts(g: Graph, op: Op, out_scale: float, left_shift: int) -> bool:
    """ADD/SUB: TFLite aborts (no message) before the activation check unless every input scale is
    positive and 2 * max(input scales) / (2^left_shift * output scale) < 1 (QuantizeMultiplierSmallerThanOneExp)."""
    scales = [legacy_params(_tensor(g, op, i))[0] for i in range(min(len(op.inputs), 2))]
    if not scales or not all(s > 0 for s in scales):
        return True
    twice_max = 2 * max(scales)
    multipliers = [divide(s, twice_max) for s in scales] + [divide(twice_max, (1 << left_shift) * out_scale)]
    return not all(0 < m < 1 for m in multipliers)


@rule("TPU205", "activation-range-overflow", scope="model", status=None)
def check_activation_range(ctx: ModelContext) -> Iterator[Violation]:
    """A fused ReLU/ReLU6's bounds do not fit an int32 at the output's scale: TFLite refuses the node.

    ## What it does
    For CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, SUB and MUL with an 8-bit output and a
    fused RELU, RELU6 or RELU_N1_TO_1, quantizes the activation's bounds with the output's scale
    the way TFLite does (`round(bound / scale)` in float32) and flags a result outside the int32
    range: an output scale of 0 or NaN (any of the three activations), below 2.79e-9 (RELU6) or
    below 4.66e-10 (RELU_N1_TO_1). Compiler 16.0 only: its TFLite is the first with the check.

    ## Why it matters on the Edge TPU
    The compiler prepares the model in its TFLite interpreter before mapping anything. This check
    fails there ("no_integer_overflow_from_quantization was not true", "Node number N (CONV_2D)
    failed to prepare") and the compilation stops with no output model. Compilers 14.1 and 15.0
    compile the same model.

    ## Example
    **Bad:** a layer whose output is always 0 (a "dead" ReLU: here a bias of -100), quantized by
    TensorFlow 2.3/2.4's default (old) quantizer. It gives that output the scale 4.6e-41, and the
    next layer, a Conv2D with ReLU6, the same scale.

    ```python
    x = tf.keras.layers.Conv2D(4, 3, activation="relu", bias_initializer=Constant(-100.0))(x)
    x = tf.keras.layers.Conv2D(4, 3, activation=tf.nn.relu6)(x)
    ```

    **Good:** convert with the MLIR quantizer (the default from TensorFlow 2.5), which gives a
    constant-zero range the scale 1e-6; better, remove or retrain the dead layer.

    ```python
    converter.experimental_new_quantizer = True
    ```

    ## How to fix
    Look for layers whose output is constant (all zero) on the representative dataset and remove
    or retrain them; convert with the new quantizer (TensorFlow >= 2.5, or
    `converter.experimental_new_quantizer = True`), or compile with `edgetpu_compiler` 15.0.

    ## Compiler status
    ERROR: :344 no_integer_overflow_from_quantization was not true. / Node number N (OP) failed to
    prepare. / Compilation failed: Model failed in Tflite interpreter (hard error, no output model).

    ## Sources
    google-coral/edgetpu#453 (16.0 log; compiles on 14.1 and 15.0; fixed by the new quantizer).
    tensorflow/lite/kernels/kernel_util.cc `Quantize` / `CalculateActivationRangeQuantizedImpl`
    (TF 2.6; absent from every 2.5.x release). Conditions measured on TF 2.3-2.6 wheels; the
    fixture `rule_TPU205_dead_relu.tflite` (TF 2.3 converter) fails on TF 2.6 at node 2.
    """
    data = prepare_checks()["activation_overflow"]
    compiler = ctx.target.compiler
    if compiler not in data["compilers"]:
        return
    # fused_activation_function code -> (name, the bounds TFLite quantizes)
    checked: dict[Any, tuple[str, list[float]]] = {
        code: (name, data["bounds"][name]) for code, name in ACTIVATIONS.items() if name in data["bounds"]
    }
    detail = _detail(data["condition"], _line(data, "line", compiler))
    for g in ctx.graphs:
        for op in _ops(g, data["ops"]):
            found = checked.get(op.options.get("fused_activation_function"))
            if found is None:
                continue
            out = _output(g, op)
            if out is None or out.dtype not in EIGHT_BIT:
                continue
            activation, points = found
            scale, _ = legacy_params(out)
            if _SAFE_SCALE <= abs(scale) < math.inf:
                continue
            if op.opcode in ("ADD", "SUB") and _add_sub_aborts(g, op, scale, int(data["abort_left_shift"])):
                continue
            for bound in points:
                quantized = round_half_away(f32_divide(bound, scale))
                if not fits_int32(quantized):
                    yield _violation(
                        g,
                        op,
                        f"{op.opcode} with fused {activation}: output scale {_fmt_scale(scale)}, "
                        f"round({bound:g} / scale) = {quantized:g} does not fit an int32",
                        detail,
                        ACTIVATION_RANGE,
                    )
                    break


def _bias_scale_problem(
    data: dict[str, Any], compiler: str, in_s: float, w_s: float, b_s: float, out_s: float
) -> tuple[str, str] | None:
    """(observed, detail) when GetQuantizedConvolutionMultipler refuses these scales, else None."""
    if compiler in data["relative_to_output_compilers"]:
        gap = divide(abs(multiply(in_s, w_s) - b_s), out_s)
        if not gap <= data["relative_to_output"]:
            observed = (
                f"|input scale x filter scale - bias scale| / output scale = {gap:.4g} "
                f"(input {_fmt_scale(in_s)}, filter {_fmt_scale(w_s)}, bias {_fmt_scale(b_s)}, "
                f"output {_fmt_scale(out_s)}; at most {data['relative_to_output']:g})"
            )
            line = _line(data, "relative_to_output_line", compiler)
            return observed, _detail(data["relative_to_output_condition"], line)
        if compiler in data["product_sign_compilers"] and not f32_multiply(in_s, w_s) >= 0:
            observed = f"input scale x filter scale = {f32_multiply(in_s, w_s):g} (must be >= 0)"
            return observed, _detail(data["product_sign_condition"], _line(data, "product_sign_line", compiler))
        return None
    product = multiply(in_s, w_s)
    if not abs(product - b_s) <= data["relative_to_product"] * min(product, b_s):
        observed = (
            f"input scale x filter scale = {product:.7g}, bias scale {_fmt_scale(b_s)}: they differ by more "
            f"than {data['relative_to_product']:g} of the smaller"
        )
        line = _line(data, "relative_to_product_line", compiler)
        return observed, _detail(data["relative_to_product_condition"], line)
    return None


@rule("TPU206", "bias-scale-mismatch", scope="model", status=None)
def check_bias_scale(ctx: ModelContext) -> Iterator[Violation]:
    """A layer's bias scale is not input scale x filter scale: TFLite refuses the node.

    ## What it does
    For uint8 CONV_2D / DEPTHWISE_CONV_2D and uint8 or int8 FULLY_CONNECTED with a bias, compares
    the bias scale with input scale x filter scale as TFLite does: compilers 14.1-16.0 allow a
    gap of 2% of the *output* scale (so an output scale of 0, NaN or nearly 0 fails), compilers
    2.0/2.1 a relative gap of 1e-6; 14.1-16.0 also refuse a negative product. Per-tensor
    parameters only, as TFLite reads them (int8 convolutions are not checked).

    ## Why it matters on the Edge TPU
    The compiler prepares the model in its TFLite interpreter first. This check fails there
    ("scale_diff / output_scale <= 0.02 was not true", "Node number N (FULLY_CONNECTED) failed to
    prepare") and nothing is compiled.

    ## Example
    **Bad:** a Dense layer after a layer whose output is always 0, quantized by TensorFlow
    2.3/2.4's default quantizer: its weights and bias get the scale `inf`, its input the scale
    4.6e-41, and inf x 4.6e-41 - inf is NaN.

    ```python
    x = tf.keras.layers.Conv2D(4, 3, activation="relu", bias_initializer=Constant(-100.0))(x)
    y = tf.keras.layers.Dense(3)(tf.keras.layers.Flatten()(x))
    ```

    **Good:** no constant-zero layer in front of it, or the MLIR quantizer
    (`converter.experimental_new_quantizer = True`, the default from TensorFlow 2.5).

    ## How to fix
    Remove or retrain layers whose output is constant on the representative dataset and convert
    again with the new quantizer; a hand-edited model must keep bias scale = input scale x weight
    scale.

    ## Compiler status
    ERROR: :154 scale_diff / output_scale <= 0.02 was not true. / Node number N (OP) failed to
    prepare. / Compilation failed (hard error, no output model).

    ## Sources
    tensorflow/lite/kernels/kernel_util.cc `GetQuantizedConvolutionMultipler` (the 0.02 rule from
    TF 2.3, the 1e-6 rule before); tensorflow#41069 (compiler 2.1 log, FULLY_CONNECTED);
    tensorflow#30173. Conditions measured on TF 1.15-2.6 wheels; the fixture
    `rule_TPU205_dead_relu.tflite` (TF 2.3 converter) fails on TF 2.3 at node 4.
    """
    data = prepare_checks()["bias_scale"]
    compiler = ctx.target.compiler
    any_ops = set(data["any_8bit_ops"])
    for g in ctx.graphs:
        for op in _ops(g, [*data["uint8_ops"], *any_ops]):
            x = _tensor(g, op, 0)
            if x is None or (x.dtype != "UINT8" and not (op.opcode in any_ops and x.dtype in EIGHT_BIT)):
                continue  # int8 convolutions: no such check
            w, b, out = _tensor(g, op, 1), _tensor(g, op, 2), _output(g, op)
            if w is None or b is None or out is None:
                continue
            problem = _bias_scale_problem(
                data, compiler, legacy_params(x)[0], legacy_params(w)[0], legacy_params(b)[0], legacy_params(out)[0]
            )
            if problem is not None:
                yield _violation(g, op, f"{op.opcode}: {problem[0]}", problem[1], BIAS_SCALE)


@rule("TPU207", "bias-format", scope="model", status=None)
def check_bias_format(ctx: ModelContext) -> Iterator[Violation]:
    """An 8-bit convolution or fully-connected layer's bias is not what TFLite's kernel accepts.

    ## What it does
    For CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and TRANSPOSE_CONV with an 8-bit input, checks
    what the kernels' Prepare checks: a CONV_2D has a bias; a bias is int32; a CONV_2D or
    DEPTHWISE_CONV_2D bias has zero point 0; the bias has one value per output channel.

    ## Why it matters on the Edge TPU
    The compiler prepares the model in its TFLite interpreter first; a refused bias fails there
    ("bias->type != kTfLiteInt32 (INT8 != INT32)", "Node number N (CONV_2D) failed to prepare")
    and nothing is compiled.

    ## Example
    **Bad:** a convolution whose bias was quantized to int8 (seen after BatchNormalization with
    some TensorFlow 2.x conversions), or a hand-edited model.

    ```text
    CONV_2D  bias: INT8 [16]
    ```

    **Good:** the converter's usual int32 bias with scale input x weight and zero point 0.

    ```text
    CONV_2D  bias: INT32 [16]
    ```

    ## How to fix
    Convert with a current TensorFlow and `TFLITE_BUILTINS_INT8`; fold BatchNormalization into
    the convolution before converting (`model.fit` then export, or `tfmot` fold); never edit
    quantized biases by hand.

    ## Compiler status
    ERROR: :334 bias->type != kTfLiteInt32 (INT8 != INT32) / Node number N (CONV_2D) failed to
    prepare. / Compilation failed: Internal error (14.1; hard error, no output model).

    ## Sources
    google-coral/edgetpu#212 (14.1 log); tensorflow#38311. tensorflow/lite/kernels/conv.cc,
    depthwise_conv.cc, fully_connected.cc, transpose_conv.cc Prepare (conditions measured on TF
    1.15-2.6 wheels).
    """
    data = prepare_checks()["bias_format"]
    compiler = ctx.target.compiler
    bias_input: dict[str, int] = data["bias_input"]
    required, zp_zero = set(data["required"]), set(data["zero_point_zero"])
    filter_dim: dict[str, int] = data["length_of_filter_dim"]
    for g in ctx.graphs:
        for op in _ops(g, bias_input):
            k = bias_input[op.opcode]
            x, w, input2, _ = _operands(g, op)
            if op.opcode == "TRANSPOSE_CONV":  # inputs: output shape, filter, data, bias
                x = input2
            b = input2 if k == 2 else _tensor(g, op, k)
            if x is None or x.dtype not in EIGHT_BIT:
                continue
            if b is None:
                if op.opcode in required:
                    detail = _detail(data["required_condition"], _line(data, "required_line", compiler))
                    yield _violation(g, op, f"{op.opcode} with {x.dtype} input has no bias", detail, BIAS_FORMAT)
                continue
            if b.dtype != "INT32":
                condition = data["type_condition"][op.opcode].format(bias=b.dtype)
                line = _line(data, "type_line", compiler) if op.opcode == "CONV_2D" else None
                detail = _detail(condition, line)
                yield _violation(g, op, f"{op.opcode} bias '{b.name}' is {b.dtype}", detail, BIAS_FORMAT)
                continue
            zero_point = legacy_params(b)[1]
            if op.opcode in zp_zero and zero_point != 0:
                condition = data["zero_point_condition"].format(zero_point=zero_point)
                line = _line(data, "zero_point_line", compiler) if op.opcode == "CONV_2D" else None
                detail = _detail(condition, line)
                yield _violation(g, op, f"{op.opcode} bias '{b.name}' has zero point {zero_point}", detail, BIAS_FORMAT)
                continue
            dim = filter_dim.get(op.opcode)
            if dim is None or w is None or len(w.shape) <= dim:
                continue
            length = math.prod(b.shape) if b.shape else 1
            if length != w.shape[dim]:
                condition = data["length_condition"][op.opcode].format(length=length, expected=w.shape[dim])
                yield _violation(
                    g,
                    op,
                    f"{op.opcode} bias '{b.name}' has {length} values for {w.shape[dim]} output channels",
                    _detail(condition, None),
                    BIAS_FORMAT,
                )


def _same_as_output(g: Graph, op: Op, spec: dict[str, Any], compiler: str) -> Iterator[Violation]:
    out = _output(g, op)
    if out is None or out.dtype not in spec["types"]:
        return
    want = dict(zip(("scale", "zero_point"), legacy_params(out), strict=True))
    for k, t in enumerate(op.inputs):
        if t < 0:
            continue
        got = dict(zip(("scale", "zero_point"), legacy_params(g.tensor(t)), strict=True))
        for check in spec["order"]:  # the kernel's order within one input
            if got[check] == want[check]:
                continue
            line = _line(spec, f"{check}_line", compiler)
            if check == "scale":
                observed = (
                    f"{op.opcode} input {k} scale {_fmt_scale(got['scale'])} != output scale "
                    f"{_fmt_scale(want['scale'])}"
                )
                condition = spec["scale_condition"]
            else:
                observed = f"{op.opcode} input {k} zero point {got[check]} != output zero point {want[check]}"
                condition = spec["zero_point_condition"].format(got=got[check], want=want[check])
            yield _violation(g, op, observed, _detail(condition, line), KERNEL_QUANTIZATION)
            return


def _fixed_output(g: Graph, op: Op, spec: dict[str, Any]) -> Iterator[Violation]:
    out = _output(g, op)
    if out is None or out.dtype not in EIGHT_BIT:
        return
    scale, zp = legacy_params(out)
    if scale != spec["scale"]:
        observed = f"{op.opcode} output scale {_fmt_scale(scale)} (TFLite needs exactly {spec['scale']:g})"
        yield _violation(g, op, observed, _detail(spec["condition"], None), KERNEL_QUANTIZATION)
        return
    want = spec.get("zero_point", {}).get(out.dtype)
    if want is not None and zp != want:
        condition = spec["zero_point_condition"].format(got=zp, want=want)
        observed = f"{op.opcode} {out.dtype} output zero point {zp} (TFLite needs {want})"
        yield _violation(g, op, observed, _detail(condition, None), KERNEL_QUANTIZATION)


@rule("TPU208", "kernel-quantization", scope="model", status=None)
def check_kernel_quantization(ctx: ModelContext) -> Iterator[Violation]:
    """An op's quantization is not the fixed or shared one its TFLite kernel requires: TFLite refuses the node.

    ## What it does
    Checks the 8-bit quantization that TFLite's kernels require exactly: LOGISTIC output scale
    1/256; L2_NORMALIZATION output scale 1/128 and zero point 0 (int8) or 128 (uint8);
    LOG_SOFTMAX output scale 16/256 and zero point 127 (int8) or 255 (uint8); every input of an
    int8 CONCATENATION and of a PACK with the output's scale and zero point; HARD_SWISH with an
    output scale above input scale / 128; and, on compilers 1.0-2.1 (TFLite 2.2 and older),
    AVERAGE/MAX_POOL_2D with the input's scale and zero point.

    ## Why it matters on the Edge TPU
    The compiler prepares the model in its TFLite interpreter before mapping anything; these
    kernels refuse other parameters there ("Node number N (CONCATENATION) failed to prepare") and
    nothing is compiled. The TFLite converter writes them right; a hand-edited or re-quantized
    model may not.

    ## Example
    **Bad:** an int8 CONCATENATION whose inputs keep their own scales (e.g. after editing the
    model's quantization with a flatbuffer tool).

    ```text
    CONCATENATION  in: scale 0.021, scale 0.034 -> out: scale 0.034
    ```

    **Good:** the converter's model, where the inputs share the output's scale.

    ```text
    CONCATENATION  in: scale 0.034, scale 0.034 -> out: scale 0.034
    ```

    ## How to fix
    Re-convert from the float model with the TFLite converter instead of editing quantization
    parameters; keep the kernels' fixed output parameters.

    ## Compiler status
    ERROR: <the kernel's check> / Node number N (OP) failed to prepare. / Compilation failed
    (hard error, no output model).

    ## Sources
    tensorflow/lite/kernels/activations.cc (Logistic, LogSoftmax, HardSwish), l2norm.cc,
    concatenation.cc, pack.cc, pooling.cc (TF <= 2.2) Prepare; conditions measured on TF
    1.15-2.6 wheels.
    """
    data = prepare_checks()
    compiler = ctx.target.compiler
    fixed: dict[str, Any] = data["fixed_output"]
    same: dict[str, Any] = data["same_as_output"]
    swish = data["hard_swish"]
    for g in ctx.graphs:
        for op in _ops(g, [*fixed, *same, "HARD_SWISH"]):
            spec = fixed.get(op.opcode)
            if spec is not None:
                yield from _fixed_output(g, op, spec)
                continue
            spec = same.get(op.opcode)
            if spec is not None:
                if compiler in spec.get("compilers", [compiler]):
                    yield from _same_as_output(g, op, spec, compiler)
                continue
            if op.opcode == "HARD_SWISH":
                x, out = _tensor(g, op, 0), _output(g, op)
                if x is None or out is None or out.dtype not in EIGHT_BIT:
                    continue
                in_s, out_s = legacy_params(x)[0], legacy_params(out)[0]
                multiplier = f32_divide(f32(in_s * f32(1 / 128)), out_s)
                if not multiplier < 1:
                    observed = (
                        f"HARD_SWISH output scale {_fmt_scale(out_s)} is not above input scale / 128 "
                        f"({_fmt_scale(in_s / 128)})"
                    )
                    detail = _detail(swish["condition"], _line(swish, "line", compiler))
                    yield _violation(g, op, observed, detail, KERNEL_QUANTIZATION)


@rule("TPU209", "kernel-types", scope="model", status=None)
def check_kernel_types(ctx: ModelContext) -> Iterator[Violation]:
    """An 8-bit op mixes tensor types (or zero points) its TFLite kernel refuses: TFLite refuses the node.

    ## What it does
    Checks the type rules of TFLite's kernels on 8-bit models: both inputs of ADD, SUB and MUL of
    one type; a CONV_2D or DEPTHWISE_CONV_2D output of its input's type; a DEPTHWISE_CONV_2D filter
    of its input's type (CONV_2D accepts an int8 filter on uint8 data); a per-channel CONV_2D
    filter only with int8 input; SUB zero points within their type's range.

    ## Why it matters on the Edge TPU
    The compiler prepares the model in its TFLite interpreter before mapping anything; these
    kernels refuse the node there ("input1->type != input2->type (INT8 != UINT8)", "Node number
    N (ADD) failed to prepare") and nothing is compiled.

    ## Example
    **Bad:** a uint8 input added to an int8 tensor, e.g. after changing only the model's input
    type with a flatbuffer tool.

    ```text
    ADD  in: UINT8 [1,8,8,4], INT8 [1,8,8,4]
    ```

    **Good:** set the input type in the converter (`inference_input_type = tf.uint8`), which adds
    a QUANTIZE from uint8 to int8 in front.

    ```python
    converter.inference_input_type = tf.uint8
    ```

    ## How to fix
    Choose input and output types in the converter (`inference_input_type`,
    `inference_output_type`) rather than by editing the model; keep one 8-bit type per op.

    ## Compiler status
    ERROR: <the kernel's type check> / Node number N (OP) failed to prepare. / Compilation failed
    (hard error, no output model).

    ## Sources
    tensorflow/lite/kernels/add.cc, sub.cc, mul.cc, conv.cc, depthwise_conv.cc Prepare and
    kernel_util.cc PopulateConvolutionQuantizationParams; conditions measured on TF 1.15-2.6
    wheels.
    """
    data = prepare_checks()["types"]
    same_inputs, out_as_in = set(data["same_input_types"]), set(data["output_as_input"])
    filter_as_in, per_channel = set(data["filter_as_input"]), set(data["per_channel_int8_input"])
    zp_range = set(data["zero_point_in_range"])
    limits = {"INT8": (-128, 127), "UINT8": (0, 255)}
    for g in ctx.graphs:
        for op in _ops(g, sorted(same_inputs | out_as_in | filter_as_in | per_channel | zp_range)):
            x, w, _, out = _operands(g, op)  # w: the second input, or the filter
            if x is None or out is None or x.dtype not in EIGHT_BIT:
                continue
            if op.opcode in same_inputs:
                y = w
                if y is not None and y.dtype != x.dtype:
                    detail = _detail(data["same_input_condition"].format(a=x.dtype, b=y.dtype), None)
                    yield _violation(g, op, f"{op.opcode} inputs are {x.dtype} and {y.dtype}", detail, TYPES)
                    continue
            if op.opcode in out_as_in and out.dtype != x.dtype:
                detail = _detail(data["output_as_input_condition"].format(a=x.dtype, b=out.dtype), None)
                yield _violation(g, op, f"{op.opcode} input {x.dtype}, output {out.dtype}", detail, TYPES)
                continue
            if op.opcode in filter_as_in and w is not None and w.dtype != x.dtype:
                detail = _detail(data["filter_as_input_condition"], None)
                yield _violation(g, op, f"{op.opcode} input {x.dtype}, filter {w.dtype}", detail, TYPES)
                continue
            if op.opcode in per_channel and w is not None and x.dtype == "UINT8":
                q = w.quantization
                if q is not None and len(q.scale) > 1:
                    detail = _detail(data["per_channel_condition"], None)
                    observed = f"{op.opcode} per-channel filter ({len(q.scale)} scales) on UINT8 input"
                    yield _violation(g, op, observed, detail, TYPES)
                    continue
            if op.opcode in zp_range:
                for which, t in (("input1", x), ("input2", w), ("output", out)):
                    if t is None or t.dtype not in limits:
                        continue
                    low, high = limits[t.dtype]
                    zp = legacy_params(t)[1]
                    if not low <= zp <= high:
                        bound = "<= integer_type_max" if zp > high else ">= integer_type_min"
                        detail = _detail(data["zero_point_condition"].format(which=which, bound=bound), None)
                        observed = f"{op.opcode} {which} zero point {zp} outside {t.dtype}'s {low}..{high}"
                        yield _violation(g, op, observed, detail, TYPES)
                        break


@rule("TPU305", "concat-shape-mismatch", scope="model", status=None)
def check_concat_shapes(ctx: ModelContext) -> Iterator[Violation]:
    """A CONCATENATION's inputs differ in a dimension other than its axis: the compiler's TFLite refuses it.

    ## What it does
    Compares the stored shape of every input of a CONCATENATION with its first input's, on every
    dimension but the concatenation axis (the shapes the converter stores are the ones TFLite
    computes when it prepares the model).

    ## Why it matters on the Edge TPU
    TFLite up to 2.13, which every `edgetpu_compiler` embeds, refuses the node
    ("t->dims->data[d] != t0->dims->data[d] (9 != 13)", "Node number N (CONCATENATION) failed to
    prepare") and nothing is compiled. TFLite 2.14 and newer run the same model on the CPU, so it
    can look fine until it reaches the compiler.

    ## Example
    **Bad:** an SPP block whose max-pool branches come out with different sizes (e.g. "valid"
    padding on one branch), concatenated along the channels.

    ```text
    CONCATENATION  in: [1,13,13,64], [1,9,9,64] -> axis 3
    ```

    **Good:** branches of equal size ("same" padding, stride 1).

    ```python
    branches = [tf.keras.layers.MaxPool2D(k, strides=1, padding="same")(x) for k in (5, 9, 13)]
    ```

    ## How to fix
    Make every concatenated branch the same size outside the axis (padding "same", equal strides),
    or crop/pad the branches before the concatenation.

    ## Compiler status
    ERROR: :80 t->dims->data[d] != t0->dims->data[d] (9 != 13) / Node number N (CONCATENATION)
    failed to prepare. / Compilation failed (hard error, no output model).

    ## Sources
    google-coral/edgetpu#891 (16.0, SPPBottleneck; TFLite 2.13 refuses it, 2.14 runs it).
    tensorflow/lite/kernels/concatenation.cc Prepare (measured on TF 2.3-2.6 wheels).
    """
    data = prepare_checks()["concat_dims"]
    compiler = ctx.target.compiler
    for g in ctx.graphs:
        for op in g.ops_of_type("CONCATENATION"):
            inputs = [g.tensor(t) for t in op.inputs if t >= 0]
            if len(inputs) < 2:
                continue
            first = inputs[0].shape
            axis = int(op.options.get("axis", 0) or 0)
            if axis < 0:
                axis += len(first)
            found = next(
                (
                    (k, d, t.shape[d])
                    for k, t in enumerate(inputs[1:], 1)
                    if len(t.shape) == len(first)
                    for d in range(len(first))
                    if d != axis and t.shape[d] != first[d]
                ),
                None,
            )
            if found is None:
                continue
            k, d, got = found
            condition = data["condition"].format(got=got, want=first[d])
            observed = (
                f"CONCATENATION on axis {axis}: input {k} {inputs[k].shape_str()} and input 0 "
                f"{inputs[0].shape_str()} differ in dimension {d}"
            )
            yield _violation(g, op, observed, _detail(condition, _line(data, "line", compiler)), TYPES)
