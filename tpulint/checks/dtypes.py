"""TPU2xx: data types and quantization."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from tpulint.context import ModelContext, OpContext
from tpulint.model import Tensor
from tpulint.quantmode import EIGHT_BIT, FLOATS
from tpulint.registry import Violation, rule
from tpulint.ruledata import int8_min_runtime

# Constant operands the compiler accepts besides 8-bit weights: int32 biases and shape/axis operands.
CONST_OK = frozenset({"INT8", "UINT8", "INT32", "INT64"})
INDEX_TYPES = frozenset({"INT32", "INT64"})


def _fmt(t: Tensor) -> str:
    return f"'{t.name}' {t.dtype} {t.shape_str()}"


def eight_bit_types(ctx: OpContext) -> frozenset[str]:
    """Activation types the target maps: int8/uint8 (uint8 only for compiler 1.0 or a runtime
    older than 12)."""
    return _type_sets(ctx.target.eight_bit_types)[0]


@cache
def _type_sets(eight_bit: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """(output types, input types) a compiler maps; made once per compiler, not once per op."""
    out = frozenset(eight_bit)
    return out, out | INDEX_TYPES


def is_float_quantize(ctx: OpContext) -> bool:
    """A QUANTIZE from float to 8 bits (the converter's input adapter)."""
    if ctx.op.opcode != "QUANTIZE":
        return False
    ins = ctx.data_inputs()
    outs = ctx.outputs()
    return bool(ins) and ins[0].dtype in FLOATS and bool(outs) and all(t.dtype in EIGHT_BIT for t in outs)


@rule("TPU201", "unsupported-data-type", status="unsupported_dtype")
def check_dtype(ctx: OpContext) -> Iterator[Violation]:
    """An op produces a tensor that is not 8-bit, or reads one that is neither 8-bit nor an index.

    ## What it does
    Every output of the op must be int8 or uint8 (uint8 only for compiler 1.0, and for a target
    runtime older than 12, the first that takes int8 data: edgetpu#222). Inputs may be
    8-bit, or int32/int64 index, shape and parameter tensors (biases, axes, GATHER indices — even
    computed ones). Variable (state) tensors are not checked: TFLite's int8 LSTM keeps an int16
    cell state, and the compiler maps it. Custom ops with float outputs fail here too.

    ## Why it matters on the Edge TPU
    The Edge TPU computes only on 8-bit fixed-point data. Float (dynamic-range or float16
    quantized models, DEQUANTIZE), bool, int16 (16x8 quantization), int32 or int64 results keep the
    op on the CPU with "Operation is working on an unsupported data type".

    ## Example
    **Bad:** dynamic-range quantization (no representative dataset): int8 weights, float32
    activations.

    ```python
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    tflite_model = converter.convert()
    ```

    **Good:** full-integer quantization.

    ```python
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_data
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    ```

    ## How to fix
    Use full-integer post-training quantization: set `converter.representative_dataset`,
    `converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]` and
    `inference_input_type`/`inference_output_type` to `tf.int8` or `tf.uint8`. Move index/arg-max
    post-processing to the end of the model.

    ## Compiler status
    Operation is working on an unsupported data type

    ## Sources
    edgetpu#609, edgetpu#708, edgetpu#490 (DEQUANTIZE), edgetpu#338 (int16); corpus logs:
    jeonghwasik_mnist_lenet_quant, style_transfer_dark_encoder (DEQUANTIZE), cmpss_ssd_detect
    (custom op with float outputs), redax_rf_tt_model (int64 GATHER/ADD, bool LESS_EQUAL) — while
    int8 GATHERs with int64 indices there get "Operation not supported", so index inputs pass.
    """
    if ctx.op.opcode == "QUANTIZE" and is_float_quantize(ctx):
        return  # TPU204
    ok_out, ok_in = _type_sets(ctx.target.eight_bit_types)
    bad: list[Tensor] = []  # outputs, then inputs; stays empty for an op that maps
    for t in ctx.activation_outputs():
        if t.dtype not in ok_out:
            bad.append(t)
    tensors = ctx.graph.subgraph.tensors
    for i in ctx.op.inputs:
        if i >= 0:
            t = tensors[i]
            if t.dtype not in ok_in and not t.is_variable:
                bad.append(t)
    if bad:
        shown = ", ".join(_fmt(t) for t in bad[:3]) + (f" (+{len(bad) - 3} more)" if len(bad) > 3 else "")
        if all(t.dtype == "INT8" for t in bad) and "INT8" in ctx.target.spec.eight_bit_types:
            need = int8_min_runtime()
            yield Violation(
                observed=f"{shown}; the target runtime is {ctx.runtime}",
                message=f"Op works on int8 data, which needs Edge TPU runtime {need} or newer",
                fix=f"Target runtime {need} or newer (edgetpu_compiler -m {need}; libedgetpu {need} or newer on "
                "the device): an int8 model maps nothing on an older runtime.",
            )
        else:
            yield Violation(observed=shown)


@rule("TPU204", "float-input-quantize", status="unspecified_limitation", opcodes=("QUANTIZE",))
def check_float_quantize(ctx: OpContext) -> Iterator[Violation]:
    """A QUANTIZE converts float to 8-bit (the converter's float-input adapter).

    ## What it does
    Flags QUANTIZE ops whose input is float32. The converter adds one at the graph input when a
    full-integer model keeps float I/O (`inference_input_type` left at float32).

    ## Why it matters on the Edge TPU
    The Edge TPU cannot take float data, so this QUANTIZE runs on the CPU. At the graph input it is
    harmless: it runs before the Edge TPU custom op and does not cut the model. In the middle of a
    graph it ends the Edge TPU subgraph.

    ## Example
    **Bad:** a quantized model that keeps float32 input (the converter adds a QUANTIZE).

    ```python
    converter.representative_dataset = representative_data
    # inference_input_type left at tf.float32
    ```

    **Good:** 8-bit input; quantize the input yourself on the host.

    ```python
    converter.inference_input_type = tf.uint8
    ```

    ## How to fix
    Set `converter.inference_input_type = tf.uint8` (or `tf.int8`) and quantize inputs yourself, or
    accept the small CPU cost at the input.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    Corpus logs (16.0: jeonghwasik_mnist_lenet_quant, jorgitou_conv_N32,
    jorgitou_model_size_channel82, redax_rf_gemm_64_16_2_1; 14.1: style_transfer_dark_encoder).
    """
    if is_float_quantize(ctx):
        t = ctx.data_inputs()[0]
        yield Violation(observed=f"QUANTIZE of {_fmt(t)} to {ctx.outputs()[0].dtype}")


@rule("TPU202", "missing-quantization", status="unsupported_dtype")
def check_quant_params(ctx: OpContext) -> Iterator[Violation]:
    """An 8-bit activation tensor has no quantization parameters (scale / zero point).

    ## What it does
    Flags int8/uint8 activations that carry no scale, which happens with hand-built or
    incompletely quantized graphs.

    ## Why it matters on the Edge TPU
    The compiler needs each tensor's scale and zero point to fold arithmetic into fixed point; a
    raw integer tensor cannot be mapped.

    ## Example
    **Bad:** a graph edited after conversion (e.g. with a flatbuffer tool) that adds an int8 tensor
    without scale and zero point.

    ```python
    new_tensor.type = TensorType.INT8   # no quantization parameters
    ```

    **Good:** make the change in the TensorFlow model and convert again with full-integer
    quantization, so every 8-bit tensor gets its quantization parameters.

    ```python
    converter.representative_dataset = representative_data
    ```

    ## How to fix
    Re-run the TFLite converter with full-integer quantization instead of editing the graph.

    ## Compiler status
    Operation is working on an unsupported data type

    ## Sources
    Coral "Model requirements" (edgetpu#594): tensor parameters are quantized.
    """
    for t in [*ctx.data_inputs(), *ctx.outputs()]:
        if t.dtype in EIGHT_BIT and not t.is_quantized:
            yield Violation(observed=f"{_fmt(t)} has no scale/zero point")
            return


@rule("TPU203", "model-not-quantized", scope="model", severity="error", status=None)
def check_model_quantized(ctx: ModelContext) -> Iterator[Violation]:
    """The model is not fully integer-quantized: float computation remains.

    ## What it does
    Looks for ops that compute in floating point (besides the QUANTIZE/DEQUANTIZE ops at the
    model's edges). It tells dynamic-range (int8 weights, float activations), float16 and plain
    float models apart.

    ## Why it matters on the Edge TPU
    Compilers up to 14.1 reject such a model outright ("Invalid model … Model not quantized").
    Newer compilers compile it but leave every float op on the CPU.

    ## Example
    **Bad:** a float32 model, or dynamic-range quantization without a representative dataset.

    ```python
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    tflite_model = converter.convert()          # float32
    ```

    **Good:** full-integer quantization.

    ```python
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_data
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.uint8
    ```

    ## How to fix
    Quantize fully: `converter.representative_dataset = gen`,
    `converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]`,
    `converter.inference_input_type = tf.uint8` (or `tf.int8`), same for the output.

    ## Compiler status
    Model not quantized (compilers ≤ 14.1: hard error); otherwise "Operation is working on an
    unsupported data type" on each float op.

    ## Sources
    edgetpu#168, edgetpu#213, edgetpu#313, edgetpu#391, edgetpu#609, tensorflow#46806.
    """
    if not ctx.graphs:
        return
    q = ctx.quant_mode()  # the same scan the quantization mode uses (tpulint/quantmode.py)
    if not q.float_ops:
        return
    kind = "float16-quantized" if q.fp16_constants else "dynamic-range quantized" if q.hybrid_ops else "float"
    g = ctx.graphs[0]
    float_ops = [g.subgraph.ops[i] for i in q.float_ops]
    first = float_ops[0]
    yield Violation(
        observed=f"{kind} model: {len(float_ops)} of {len(g.subgraph.ops)} ops compute in float "
        f"(first: op {first.index} {first.type_name})",
        op_index=first.index,
        subgraph=0,
        extra={"kind": kind, "float_ops": len(float_ops)},
    )
