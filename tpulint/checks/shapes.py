"""TPU3xx: tensor shape, rank and batch limits."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from tpulint.context import ModelContext, OpContext
from tpulint.graph import Graph
from tpulint.model import Tensor
from tpulint.registry import Violation, rule
from tpulint.ruledata import limits


def outer_dims_nonunit(t: Tensor) -> bool:
    """True when a dim outside the 3 innermost ones is > 1 (the Edge TPU maps only 3 dims)."""
    return t.rank > 3 and any(d > 1 for d in t.shape[: t.rank - 3])


# Inputs that hold weights (filter layouts such as [out, kh, kw, in] are not activations).
WEIGHT_INPUTS = {"CONV_2D": (1,), "DEPTHWISE_CONV_2D": (1,), "FULLY_CONNECTED": (1,), "TRANSPOSE_CONV": (0, 1)}


def weight_slots(ctx: OpContext) -> list[int]:
    """Tensor indices in the op's weight positions (even when produced by a DEQUANTIZE)."""
    slots = WEIGHT_INPUTS.get(ctx.op.opcode, ())
    return [ctx.op.inputs[i] for i in slots if i < len(ctx.op.inputs) and ctx.op.inputs[i] >= 0]


@rule("TPU301", "unsupported-rank", status="unsupported_rank")
def check_rank(ctx: OpContext) -> Iterator[Violation]:
    """A tensor has more than 3 dimensions with a size greater than 1 outside the innermost three.

    ## What it does
    Checks every activation tensor the op reads or writes. Tensors may have any rank, but only the
    3 innermost dimensions may be larger than 1. A batch size above 1 breaks this rule too.

    ## Why it matters on the Edge TPU
    The Edge TPU maps at most 3 dimensions. The compiler leaves the op on the CPU with
    "Tensor has unsupported rank (up to 3 innermost dimensions mapped)", and everything after it
    follows it to the CPU.

    ## Example
    **Bad:** a YOLO head reshaped to 5-D, or a model converted with batch size 2.

    ```python
    y = tf.reshape(x, [1, 3, 80, 80, 85])
    ```

    **Good:** batch size 1 and at most 3 dimensions larger than 1 (fold the anchors into a
    neighbouring dimension).

    ```python
    y = tf.reshape(x, [1, 3 * 80 * 80, 85])
    ```

    ## How to fix
    Convert with batch size 1 (`model.input.set_shape((1,) + shape[1:])`), and rewrite 5-D
    reshapes/transposes so that at most 3 dimensions are larger than 1 (fold the extra dimension
    into a neighbour).

    ## Compiler status
    Tensor has unsupported rank (up to 3 innermost dimensions mapped)

    ## Sources
    Coral "Model requirements" (edgetpu#594); edgetpu#30 (batch 30); edgetpu#75; edgetpu#173.
    """
    seen: set[int] | None = None  # weight slots, then tensors already reported
    bad: list[str] = []
    for t in ctx.activations:
        shape = t.shape
        if len(shape) <= 3 or (len(shape) == 4 and shape[0] <= 1):
            continue  # the common case, decided without a call
        if seen is None:
            seen = set(weight_slots(ctx))
        if t.index in seen:
            continue
        seen.add(t.index)
        if outer_dims_nonunit(t):
            what = "batch size " + str(t.shape[0]) if t.rank == 4 and t.shape[0] > 1 else f"rank {t.rank}"
            bad.append(f"tensor '{t.name}' {what}: {t.shape_str()}")
    if bad:  # one finding per op, naming every offending tensor
        yield Violation(observed="; ".join(bad))


def row_elements(t: Tensor) -> int:
    """X*Z of a tensor viewed as (Y, X, Z) = its 3 innermost dimensions."""
    s = (1, 1, 1, *t.shape)
    return max(s[-1], 1) * max(s[-2], 1)


@rule("TPU304", "row-too-large", status="unspecified_limitation")
def check_row_size(ctx: OpContext) -> Iterator[Violation]:
    """An activation's innermost two dimensions hold more elements than the Edge TPU maps.

    ## What it does
    Views each activation the op reads or writes as (Y, X, Z) — its 3 innermost dimensions — and
    flags it when X*Z exceeds `max_row_elements` in `rules/edgetpu_ops.toml` (196,608). Total size
    does not matter: `[1,320,320,16]` and `[1,80,80,144]` map.

    ## Why it matters on the Edge TPU
    The op stays on the CPU. In detection heads this hits the long `[1, 84, 8400]` tensors of
    YOLOv8 (X*Z = 705,600).

    ## Example
    **Bad:** a YOLOv8 output decoded inside the model at 640×640: `[1, 84, 8400]` rows exceed the
    limit (CONCATENATION, STRIDED_SLICE, LOGISTIC, QUANTIZE).

    ```sh
    yolo export model=yolov8n.pt format=edgetpu imgsz=640
    ```

    **Good:** a smaller export size, or the Edge TPU part ended before the decoding with `-i`.

    ```sh
    yolo export model=yolov8n.pt format=edgetpu imgsz=320
    ```

    ## How to fix
    Keep the final concatenation/decoding of detection heads on the CPU side on purpose (end the
    Edge TPU subgraph with `-i`), or export at a smaller size.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    Corpus logs goalbuddy_yolov8n_tpu and nerbivol_yolov8n: every "otherwise supported" CONCAT,
    STRIDED_SLICE, RESHAPE, LOGISTIC and QUANTIZE row has X*Z > 230,400 - 1; X*Z = 176,400 maps.
    """
    cap = _row_cap()
    for t in ctx.activations:
        shape = t.shape
        if len(shape) >= 2 and shape[-1] > 0 and shape[-2] > 0 and shape[-1] * shape[-2] <= cap:
            continue  # the common case, decided without a call
        if t.is_variable:
            continue
        n = row_elements(t)
        if n > cap:
            yield Violation(observed=f"tensor '{t.name}' {t.shape_str()}: X*Z = {n:,} (max {cap:,})")
            return


@cache
def _row_cap() -> int:
    return int(limits().get("max_row_elements", 196608))


def _dynamic_entry(g: Graph, dynamic: list[Tensor]) -> list[Tensor]:
    """Of the ``dynamic`` tensors of ``g``, those where the unknown size enters (graph inputs),
    else the first one."""
    return [t for t in dynamic if t.index in g.graph_inputs] or dynamic[:1]


def _sig(t: Tensor) -> str:
    return "[" + ",".join(str(d) for d in (t.shape_signature or ())) + "]"


@rule("TPU302", "dynamic-tensor-size", scope="model", status=None)
def check_dynamic_shape(ctx: ModelContext) -> Iterator[Violation]:
    """A tensor's size is only known at run time (a -1 in its stored shape, or a computed Reshape).

    ## What it does
    Looks for tensors whose stored `shape` has an unknown (-1) dimension, and for RESHAPE ops whose
    new shape is computed by the graph (e.g. from a SHAPE op) instead of being a constant.

    ## Why it matters on the Edge TPU
    The compiler runs the model in the TFLite interpreter with a delegate that only supports static
    sizes, and stops: "Attempting to use a delegate that only supports static-sized tensors with a
    graph that has dynamic-sized tensors." Nothing is compiled.

    A -1 only in `shape_signature` (a Keras model with a free batch dimension) does *not* stop
    the compiler: it uses the stored shape (batch 1). That case is TPU303. Evidence: the corpus
    cases jeonghwasik_mnist_lenet_quant, lenet_int8, jorgitou_* and facemask_teachable_machine
    have `shape_signature` [-1, …] and were compiled and mapped.

    ## Example
    **Bad:** a reshape to a computed shape, or an input with an unknown size.

    ```python
    y = tf.reshape(x, tf.shape(z))
    ```

    **Good:** constant shapes everywhere, with a fixed batch size of 1.

    ```python
    model.input.set_shape((1,) + model.input.shape[1:])
    y = tf.reshape(x, [1, 64, 64, 8])
    ```

    ## How to fix
    Fix every shape before converting: `model.input.set_shape((1,) + model.input.shape[1:])`, and
    use constant shapes in `tf.reshape`.

    ## Compiler status
    Compilation failed: Model failed in Tflite interpreter (hard error, no output model).

    ## Sources
    edgetpu#829, tensorflow#56253.
    """
    for g in ctx.graphs[:1]:
        # Each distinct shape is looked at once: most tensors share theirs with others.
        negative = {s for s in {t.shape for t in g.subgraph.tensors} if s and min(s) < 0}
        if negative:
            t = next(t for t in g.subgraph.tensors if t.shape in negative)  # the first one
            prod = g.producer.get(t.index)
            yield Violation(
                observed=f"tensor '{t.name}' shape {t.shape_str()}",
                op_index=prod if prod is not None else next(iter(g.tensor_consumers(t.index)), None),
                subgraph=g.subgraph.index,
            )
            return
        for op in g.subgraph.ops:
            if op.opcode == "RESHAPE" and len(op.inputs) > 1 and op.inputs[1] in g.producer:
                yield Violation(
                    observed=f"RESHAPE op {op.index} takes its shape from op {g.producer[op.inputs[1]]}",
                    op_index=op.index,
                    subgraph=g.subgraph.index,
                )
                return


@rule("TPU303", "dynamic-batch-signature", scope="model", severity="warning", status=None, blocks=False)
def check_dynamic_signature(ctx: ModelContext) -> Iterator[Violation]:
    """The model's `shape_signature` has a free (-1) dimension; the compiler fixes it to the stored size.

    ## What it does
    Reports where a dynamic dimension enters the graph (usually the batch of a Keras input).

    ## Why it matters on the Edge TPU
    The compiled model only runs with the stored shape (batch 1). Resizing the input at run time
    (`interpreter.resize_tensor_input`) breaks the Edge TPU custom op.

    ## Example
    **Bad:** a Keras input with a free batch: the model's `shape_signature` is `[-1, 28, 28, 1]`.

    ```python
    inp = tf.keras.Input(shape=(28, 28, 1))
    ```

    **Good:** a fixed batch of 1.

    ```python
    inp = tf.keras.Input(shape=(28, 28, 1), batch_size=1)
    ```

    ## How to fix
    Fix the batch before converting: `model.input.set_shape((1,) + model.input.shape[1:])`.

    ## Compiler status
    None (the model compiles; evidence: corpus cases with `shape_signature` -1 that mapped).

    ## Sources
    Corpus: jeonghwasik_mnist_lenet_quant, lenet_int8, facemask_teachable_machine; edgetpu#829.
    """
    for g in ctx.graphs[:1]:
        # Each distinct signature is looked at once (Tensor.is_dynamic): most tensors share theirs.
        tensors = g.subgraph.tensors
        negative = {s for s in {t.shape_signature for t in tensors} if s and min(s) < 0}
        if not negative:
            continue
        dynamic = [t for t in tensors if t.shape_signature in negative]
        for t in _dynamic_entry(g, dynamic):
            prod = g.producer.get(t.index)
            more = f" ({len(dynamic)} tensors with a dynamic signature)" if len(dynamic) > 1 else ""
            yield Violation(
                observed=f"tensor '{t.name}' shape_signature {_sig(t)}{more}",
                op_index=prod if prod is not None else next(iter(g.tensor_consumers(t.index)), None),
                subgraph=g.subgraph.index,
            )
