"""TPU7xx: the TFLite converter setting behind a model's problem, and the exact settings to use.

Each rule reads the model's quantization mode (:mod:`tpulint.quantmode`) or its inputs and op
versions, names the converter mistake that produced it, and gives the converter code that fixes it.
They say *why* the model looks the way it does; the TPU2xx/3xx/4xx rules say what the compiler
does about it.
"""

from __future__ import annotations

from collections.abc import Iterator

from tpulint.context import ModelContext
from tpulint.registry import Violation, rule

# The converter settings the Edge TPU needs (coral.ai/docs/edgetpu/models-intro, "Quantization").
FULL_INTEGER = (
    "converter.optimizations = [tf.lite.Optimize.DEFAULT]; "
    "converter.representative_dataset = representative_dataset; "
    "converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]; "
    "converter.inference_input_type = tf.uint8; converter.inference_output_type = tf.uint8"
)


def _ops(indices: list[int], limit: int = 3) -> str:
    text = ", ".join(f"#{i}" for i in indices[:limit])
    return text + (f" and {len(indices) - limit} more" if len(indices) > limit else "")


@rule("TPU701", "converter-float-model", scope="model", severity="warning", status=None, blocks=False)
def check_float_model(ctx: ModelContext) -> Iterator[Violation]:
    """The model was converted without quantization: every op computes in float32.

    ## What it does
    Reports a model whose ops all compute in float32 (no int8 tensors anywhere): the converter ran
    without `optimizations` and without a representative dataset.

    ## Why it matters on the Edge TPU
    The Edge TPU runs only 8-bit integer ops. Nothing maps: older compilers refuse the model
    ("Model not quantized"), 16.0 compiles it with every op on the CPU.

    ## Example
    **Bad:** the converter's defaults.

    ```python
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    tflite_model = converter.convert()
    ```

    **Good:** full-integer post-training quantization.

    ```python
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset   # ~100 real input samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.uint8
    ```

    ## How to fix
    Convert again with the five settings above (or `tpulint convert MODEL --representative DATA`).

    ## Compiler status
    Model not quantized (compilers ≤ 14.1); otherwise "Operation is working on an unsupported data
    type" on every op.

    ## Sources
    coral.ai/docs/edgetpu/models-intro (quantization); edgetpu#168, edgetpu#609.
    """
    q = ctx.quant_mode()
    if q.mode == "float32":
        yield Violation(
            observed=f"{len(q.float_ops)} float32 ops, no quantized tensor", extra={"mode": q.mode}, subgraph=0
        )


@rule("TPU702", "converter-float16-weights", scope="model", severity="warning", status=None, blocks=False)
def check_float16(ctx: ModelContext) -> Iterator[Violation]:
    """The model was converted with float16 weights (`supported_types = [tf.float16]`).

    ## What it does
    Finds FLOAT16 constants that a DEQUANTIZE turns back into float32 at run time: float16
    post-training quantization, which shrinks the file but computes in float.

    ## Why it matters on the Edge TPU
    Every op still computes in float32, so nothing maps to the Edge TPU.

    ## Example
    **Bad:** float16 quantization.

    ```python
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    ```

    **Good:** drop `supported_types` and quantize to int8 with a representative dataset.

    ```python
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.uint8
    ```

    ## How to fix
    Remove `converter.target_spec.supported_types = [tf.float16]`; add a representative dataset and
    `supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]`.

    ## Compiler status
    "Operation is working on an unsupported data type" on every float op.

    ## Sources
    tensorflow.org/lite/performance/post_training_float16_quant; edgetpu#313.
    """
    q = ctx.quant_mode()
    if q.mode == "float16_weights":
        yield Violation(
            observed=f"{q.fp16_constants} float16 constants, {len(q.float_ops)} ops computing in float32",
            extra={"mode": q.mode},
            subgraph=0,
        )


@rule("TPU703", "converter-dynamic-range", scope="model", severity="warning", status=None, blocks=False)
def check_dynamic_range(ctx: ModelContext) -> Iterator[Violation]:
    """The model was converted with dynamic-range quantization (no representative dataset).

    ## What it does
    Finds ops with int8 weights and float32 activations: `optimizations = [DEFAULT]` without a
    `representative_dataset`, so the converter could not calibrate activations.

    ## Why it matters on the Edge TPU
    The activations stay float32, so no op maps. This is the most common converter mistake behind
    "Model not quantized".

    ## Example
    **Bad:** `optimizations` alone.

    ```python
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    tflite_model = converter.convert()
    ```

    **Good:** add a representative dataset and restrict to int8 ops.

    ```python
    def representative_dataset():
        for x in calibration_images[:100]:
            yield [x[None].astype("float32")]
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.uint8
    ```

    ## How to fix
    Add `converter.representative_dataset` (about 100 real samples) and
    `converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]`.

    ## Compiler status
    Model not quantized (compilers ≤ 14.1); otherwise "Operation is working on an unsupported data
    type".

    ## Sources
    tensorflow.org/lite/performance/post_training_quantization; edgetpu#168, edgetpu#391.
    """
    q = ctx.quant_mode()
    if q.mode == "dynamic_range":
        yield Violation(
            observed=f"{len(q.hybrid_ops)} ops with int8 weights compute in float32 (ops {_ops(q.hybrid_ops)})",
            op_index=q.hybrid_ops[0],
            subgraph=0,
            extra={"mode": q.mode},
        )


@rule("TPU704", "converter-float-io", scope="model", severity="warning", status=None, blocks=False)
def check_float_io(ctx: ModelContext) -> Iterator[Violation]:
    """The model is full-integer inside but keeps float32 inputs or outputs.

    ## What it does
    Reports a full-integer model whose graph inputs or outputs are float32: the converter ran
    without `inference_input_type` / `inference_output_type`, and added a QUANTIZE after each
    float input and a DEQUANTIZE before each float output.

    ## Why it matters on the Edge TPU
    Those QUANTIZE/DEQUANTIZE ops run on the CPU before and after the Edge TPU custom op, and the
    float tensors cross USB at four times the size of uint8 ones.

    ## Example
    **Bad:** full-integer quantization with the default float I/O.

    ```python
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    ```

    **Good:** 8-bit input and output.

    ```python
    converter.inference_input_type = tf.uint8    # or tf.int8
    converter.inference_output_type = tf.uint8
    ```

    ## How to fix
    Set `converter.inference_input_type = tf.uint8` and `converter.inference_output_type =
    tf.uint8` (or `tf.int8`), and quantize inputs in your application with the input tensor's
    scale and zero point.

    ## Compiler status
    The QUANTIZE gets "Operation is otherwise supported, but not mapped due to some unspecified
    limitation", the DEQUANTIZE "Operation is working on an unsupported data type".

    ## Sources
    coral.ai/docs/edgetpu/models-intro; corpus: jeonghwasik_mnist_lenet_quant, mnist_model_quant.
    """
    q = ctx.quant_mode()
    if q.mode == "full_integer_float_io":
        ins = [t for t in q.input_types if t.startswith("FLOAT")]
        outs = [t for t in q.output_types if t.startswith("FLOAT")]
        yield Violation(
            observed=f"{len(ins)} float input(s), {len(outs)} float output(s); "
            f"{len(q.float_edge_ops)} QUANTIZE/DEQUANTIZE op(s) at the edges run on the CPU",
            extra={"mode": q.mode},
            subgraph=0,
        )


@rule("TPU705", "converter-16x8", scope="model", severity="warning", status=None, blocks=False)
def check_16x8(ctx: ModelContext) -> Iterator[Violation]:
    """The model was quantized 16x8: int16 activations with int8 weights.

    ## What it does
    Finds ops with int16 activation outputs, the result of
    `EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8`.

    ## Why it matters on the Edge TPU
    The Edge TPU computes with 8-bit activations only; the int16 ops stay on the CPU.

    ## Example
    **Bad:** the 16x8 ops set.

    ```python
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    ```

    **Good:** 8-bit activations.

    ```python
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    ```

    ## How to fix
    Use `converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]`; if accuracy
    drops, use quantization-aware training rather than 16-bit activations.

    ## Compiler status
    "Operation is working on an unsupported data type".

    ## Sources
    tensorflow.org/lite/performance/post_training_integer_quant_16x8.
    """
    q = ctx.quant_mode()
    if q.mode == "int16x8":
        yield Violation(
            observed=f"{len(q.int16_ops)} ops with int16 activations (ops {_ops(q.int16_ops)})",
            op_index=q.int16_ops[0],
            subgraph=0,
            extra={"mode": q.mode},
        )


@rule("TPU706", "converter-qat-leftovers", scope="model", severity="warning", status=None, blocks=False)
def check_qat_leftovers(ctx: ModelContext) -> Iterator[Violation]:
    """A quantization-aware-trained model was converted without quantization: fake-quant pairs remain.

    ## What it does
    Finds QUANTIZE ops read only by DEQUANTIZE ops (or FAKE_QUANT ops) around float32 ops: the
    fake-quant nodes of quantization-aware training, converted without `optimizations`.

    ## Why it matters on the Edge TPU
    The model carries the quantization ranges but still computes in float, so nothing maps.

    ## Example
    **Bad:** a QAT model converted with the defaults.

    ```python
    q_aware = tfmot.quantization.keras.quantize_model(model)
    tf.lite.TFLiteConverter.from_keras_model(q_aware).convert()
    ```

    **Good:** let the converter use the trained ranges.

    ```python
    converter = tf.lite.TFLiteConverter.from_keras_model(q_aware)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.uint8
    ```

    ## How to fix
    Convert with `converter.optimizations = [tf.lite.Optimize.DEFAULT]` and
    `supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]` (add a representative dataset for any
    layer without trained ranges).

    ## Compiler status
    "Operation is working on an unsupported data type" on the float ops.

    ## Sources
    tensorflow.org/model_optimization/guide/quantization/training_example; edgetpu#222.
    """
    q = ctx.quant_mode()
    if q.mode == "qat_leftovers":
        yield Violation(
            observed=f"{q.fake_quant_pairs} fake-quant pair(s), {len(q.float_ops)} ops computing in float32",
            extra={"mode": q.mode},
            subgraph=0,
        )


@rule("TPU707", "converter-float-fallback", scope="model", severity="warning", status=None, blocks=False)
def check_float_fallback(ctx: ModelContext) -> Iterator[Violation]:
    """Integer and float ops are mixed: the converter kept float kernels for ops it could not quantize.

    ## What it does
    Reports a model with both 8-bit ops and float32 ops (custom post-processing ops aside): the
    converter was allowed to fall back to float (`supported_ops` left at `TFLITE_BUILTINS`).

    ## Why it matters on the Edge TPU
    Each float op runs on the CPU, and the first one usually ends the Edge TPU subgraph.

    ## Example
    **Bad:** full-integer quantization that may silently fall back to float.

    ```python
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset
    ```

    **Good:** make the converter refuse ops it cannot quantize, so you find them at conversion.

    ```python
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    ```

    ## How to fix
    Set `converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]` and replace
    the layers the converter then rejects, or move them after the model (post-processing on CPU).

    ## Compiler status
    "Operation is working on an unsupported data type" on each float op.

    ## Sources
    tensorflow.org/lite/performance/post_training_integer_quant ("integer only").
    """
    q = ctx.quant_mode()
    if q.mode == "mixed" and q.float_ops:
        yield Violation(
            observed=f"{len(q.float_ops)} float32 ops among {len(q.integer_ops)} integer ops (ops {_ops(q.float_ops)})",
            op_index=q.float_ops[0],
            subgraph=0,
            extra={"mode": q.mode},
        )


@rule("TPU708", "converter-input-batch", scope="model", severity="warning", status=None, blocks=False)
def check_input_batch(ctx: ModelContext) -> Iterator[Violation]:
    """A model input has a batch size other than 1.

    ## What it does
    Reports graph inputs of rank 2 or more whose first dimension is not 1: the model was exported
    with a fixed batch larger than one.

    ## Why it matters on the Edge TPU
    The Edge TPU runs one sample per inference; ops on a batch dimension larger than 1 are often not
    mapped (rank and batch-axis limits), and latency is counted per inference.

    ## Example
    **Bad:** a batch of 8 baked into the graph.

    ```python
    inp = tf.keras.Input(shape=(224, 224, 3), batch_size=8)
    ```

    **Good:** convert a concrete function with batch 1.

    ```python
    run = tf.function(lambda x: model(x))
    concrete = run.get_concrete_function(tf.TensorSpec([1, 224, 224, 3], tf.float32))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], model)
    ```

    ## How to fix
    Convert from a concrete function whose input `tf.TensorSpec` has batch 1 (as above), or rebuild
    the Keras input with `batch_size=1`.

    ## Compiler status
    Depends on the ops; batch > 1 often gives "Tensor has unsupported rank" or unmapped ops.

    ## Sources
    coral.ai/docs/edgetpu/models-intro ("tensor sizes are constant at compile-time"); edgetpu#829.
    """
    g = ctx.graphs[0]
    tensors = g.subgraph.tensors
    for t in g.subgraph.inputs:
        if 0 <= t < len(tensors):
            tensor = tensors[t]
            if len(tensor.shape) >= 2 and tensor.shape[0] > 1:
                yield Violation(
                    observed=f"input '{tensor.name}' shape {tensor.shape_str()}: batch {tensor.shape[0]}",
                    subgraph=0,
                )


@rule("TPU709", "converter-tensorflow-version", scope="model", severity="warning", status=None, blocks=False)
def check_tensorflow_version(ctx: ModelContext) -> Iterator[Violation]:
    """The converter's TensorFlow is newer than the compiler supports: its op versions cannot be parsed.

    ## What it does
    When an op's builtin version is above the compiler's ceiling (see TPU402), names the newest
    TensorFlow whose converter writes versions this compiler accepts (`rules/compilers.toml`
    `tensorflow_max`).

    ## Why it matters on the Edge TPU
    Each TensorFlow release bumps op versions as kernels gain features; the compiler embeds an old
    TFLite and stops at "Didn't find op for builtin opcode … version …".

    ## Example
    **Bad:** converting with TensorFlow 2.9 for compiler 16.0 (CONV_2D version 6).

    ```sh
    pip install tensorflow==2.9.1
    ```

    **Good:** convert with the TensorFlow the compiler supports.

    ```sh
    pip install 'tensorflow==2.8.*'
    ```

    ## How to fix
    Convert in an environment with the TensorFlow version named in the finding (the model code and
    weights can stay as they are; only the conversion step needs the older converter).

    ## Compiler status
    Model could not be parsed (hard error).

    ## Sources
    edgetpu#631 (16.0: "please try with Tensorflow version 2.8.2"), edgetpu#340, edgetpu#358,
    tensorflow#43288, libedgetpu#71.
    """
    spec = ctx.target.spec
    if spec.tensorflow_max is None:
        return
    ceilings = spec.max_op_version
    over = sorted(
        {
            (op.opcode, op.version)
            for g in ctx.graphs
            for op in g.subgraph.ops
            if op.version > ceilings.get(op.opcode, 1 << 30)
        }
    )
    if over:
        ops = ", ".join(f"{name} v{v}" for name, v in over)
        yield Violation(
            observed=f"{ops}: convert with TensorFlow ≤ {spec.tensorflow_max} for compiler {ctx.target.compiler} "
            f"(pip install 'tensorflow=={spec.tensorflow_max}.*')",
            extra={"tensorflow_max": spec.tensorflow_max},
        )
