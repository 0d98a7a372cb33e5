"""TPU1xx: op support — the op table and each op's documented limitations."""

from __future__ import annotations

from collections.abc import Iterator

from tpulint.context import ModelContext, OpContext, Target
from tpulint.registry import Violation, rule
from tpulint.ruledata import OpSpec, cpu_only_ops, limits, replacements

# Custom ops the compiler's TFLite interpreter can load (it leaves them on the CPU).
KNOWN_CUSTOM_OPS = frozenset({"TFLite_Detection_PostProcess", "PosenetDecoderOp", "edgetpu-custom-op"})
# fused_activation_function enum of the TFLite schema (also read by tpulint.checks.prepare).
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}


def has_check(ctx: OpContext, name: str) -> bool:
    return ctx.spec is not None and name in ctx.spec.checks


def _may_be_unsupported(opcode: str, spec: OpSpec | None, target: Target) -> bool:
    """TPU101 can fire: a custom op, or a builtin op type that is neither CPU-only nor in the op table."""
    return opcode == "CUSTOM" or (opcode not in cpu_only_ops() and spec is None)


@rule("TPU101", "op-not-supported", status="not_supported", when=_may_be_unsupported)
def check_op_supported(ctx: OpContext) -> Iterator[Violation]:
    """The op type is not in the Edge TPU's supported-operations table.

    ## What it does
    Looks the op up in Coral's op table (`rules/edgetpu_ops.toml`). Custom ops other than the
    Edge TPU's own are never mapped.

    ## Why it matters on the Edge TPU
    The compiler can only map the listed ops. An unsupported op stays on the CPU ("Operation not
    supported"), and, without `-a`, every op that depends on it runs on the CPU too.

    ## Example
    **Bad:** a Keras `LeakyReLU` between two convolutions becomes `LEAKY_RELU`, which is not in the
    op table; it and every op after it run on the CPU.

    ```python
    x = layers.Conv2D(16, 3)(x)
    x = layers.LeakyReLU(0.1)(x)   # LEAKY_RELU: Operation not supported
    x = layers.Conv2D(16, 3)(x)    # after the cut: CPU
    ```

    **Good:** a supported activation (fused into the convolution) keeps the chain on the Edge TPU.

    ```python
    x = layers.Conv2D(16, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3)(x)
    ```

    ## How to fix
    Replace the op with a supported equivalent (ReLU/ReLU6 instead of LeakyReLU or hard-swish,
    `minimalistic=True` for MobileNetV3), move it to the end of the graph, or cut the model before
    it with `-i` / by splitting the model so that only the tail runs on the CPU. For the common
    ones (LEAKY_RELU, HARD_SWISH, GATHER, ARG_MAX, CAST, DIV, comparisons, BATCH_MATMUL, ...) the
    finding gives the specific replacement (`rules/replacements.toml`).

    ## Compiler status
    Operation not supported

    ## Sources
    coral.ai/docs/edgetpu/models-intro (Supported operations); edgetpu#272, edgetpu#342,
    edgetpu#597, edgetpu#720.
    """
    op = ctx.op
    if op.opcode == "CUSTOM":
        if op.custom_code != "edgetpu-custom-op":
            yield Violation(observed=f"custom op '{op.custom_code}'", fix=replacements().get(op.custom_code or ""))
        return
    if op.opcode in cpu_only_ops():
        return  # reported by a more specific rule (e.g. DEQUANTIZE -> data type)
    if ctx.spec is None:
        yield Violation(
            observed=f"op {op.opcode} (builtin code {op.builtin_code}) is not in the op table",
            fix=replacements().get(op.opcode),
        )


@rule("TPU102", "fused-activation", status="unspecified_limitation", checks=("no_fused_activation",))
def check_fused_activation(ctx: OpContext) -> Iterator[Violation]:
    """A pooling or concatenation op has a fused activation function.

    ## What it does
    AveragePool2d, MaxPool2d and Concatenation must have `fused_activation_function = NONE`.

    ## Why it matters on the Edge TPU
    Coral's op table: "No fused activation function." The op is left on the CPU.

    ## Example
    **Bad:** a ReLU right after a max-pool, which the converter fuses into the pool's
    `fused_activation_function`.

    ```python
    x = layers.MaxPooling2D(2)(x)
    x = layers.ReLU()(x)          # fused into MAX_POOL_2D: not mapped
    ```

    **Good:** the activation before the pool (ReLU and max-pool commute), fused into the convolution.

    ```python
    x = layers.Conv2D(16, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    ```

    ## How to fix
    Put the activation before the pool (ReLU and max-pool commute), or keep it as a separate op.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    coral.ai/docs/edgetpu/models-intro (AveragePool2d, MaxPool2d, Concatenation rows).
    """
    if not has_check(ctx, "no_fused_activation"):
        return
    act = int(ctx.op.options.get("fused_activation_function", 0) or 0)
    if act:
        yield Violation(observed=f"fused activation {ACTIVATIONS.get(act, act)}")


@rule("TPU103", "unequal-dilation", status="unspecified_limitation", checks=("equal_dilation",))
def check_dilation(ctx: OpContext) -> Iterator[Violation]:
    """A convolution uses different dilation in x and y (or dilation where the runtime has none).

    ## What it does
    Conv2d and DepthwiseConv2d must use the same dilation factor in both spatial dimensions;
    depthwise dilation needs runtime 13 or newer.

    ## Why it matters on the Edge TPU
    The Edge TPU's convolution engine only implements symmetric dilation.

    ## Example
    **Bad:** different dilation factors in y and x.

    ```python
    x = layers.Conv2D(32, 3, dilation_rate=(1, 2))(x)
    ```

    **Good:** the same dilation on both axes (depthwise dilation also needs `--runtime 13` or newer).

    ```python
    x = layers.Conv2D(32, 3, dilation_rate=(2, 2))(x)
    ```

    ## How to fix
    Use the same dilation rate on both axes, or compile for runtime ≥ 13 (`-m 13`).

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    coral.ai/docs/edgetpu/models-intro (Conv2d, DepthwiseConv2d rows).
    """
    if not has_check(ctx, "equal_dilation"):
        return
    options = ctx.op.options
    dh = int(options.get("dilation_h_factor", 1) or 1)
    dw = int(options.get("dilation_w_factor", 1) or 1)
    if dh != dw:
        yield Violation(observed=f"dilation h={dh}, w={dw}")
    elif dh > 1 and ctx.runtime <= 12 and has_check(ctx, "depthwise_dilation_runtime"):
        yield Violation(observed=f"depthwise dilation {dh} with runtime {ctx.runtime}")


@rule("TPU104", "strided-slice-strides", status="unspecified_limitation", checks=("strided_slice",))
def check_strided_slice(ctx: OpContext) -> Iterator[Violation]:
    """A StridedSlice has a stride other than 1, or an ellipsis / new-axis mask.

    ## What it does
    StridedSlice maps only when it is effectively a Slice: all strides 1, `ellipsis_mask == 0`
    and `new_axis_mask == 0`.

    ## Why it matters on the Edge TPU
    Strided gathers are not implemented on the Edge TPU.

    ## Example
    **Bad:** a space-to-depth written with strided slices (YOLOv5's Focus layer): STRIDED_SLICE
    with stride 2.

    ```python
    x = tf.concat([x[:, ::2, ::2, :], x[:, 1::2, ::2, :], x[:, ::2, 1::2, :], x[:, 1::2, 1::2, :]], -1)
    ```

    **Good:** the builtin space-to-depth, or a strided convolution; a stride-1 crop such as
    `x[:, 1:-1, 1:-1, :]` also maps.

    ```python
    x = tf.nn.space_to_depth(x, 2)
    ```

    ## How to fix
    Use `SpaceToDepth` or a strided convolution instead of strided slicing.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    coral.ai/docs/edgetpu/models-intro (StridedSlice row).
    """
    if not has_check(ctx, "strided_slice"):
        return
    strides = ctx.const_ints(3)
    o = ctx.op.options
    bad = []
    if strides is not None and any(s != 1 for s in strides):
        bad.append(f"strides {list(strides)}")
    if int(o.get("ellipsis_mask", 0) or 0):
        bad.append(f"ellipsis_mask {o.get('ellipsis_mask')}")
    if int(o.get("new_axis_mask", 0) or 0):
        bad.append(f"new_axis_mask {o.get('new_axis_mask')}")
    if bad:
        yield Violation(observed=", ".join(bad))


@rule("TPU105", "softmax-shape", status="unspecified_limitation", checks=("softmax_1d",))
def check_softmax(ctx: OpContext) -> Iterator[Violation]:
    """A Softmax runs over more than 16,000 elements (or, before compiler 16.0, is not 1-D).

    ## What it does
    Softmax maps over at most 16,000 elements along its (innermost) axis. Compilers before 16.0
    also need a 1-D input (only the innermost dimension larger than 1); 16.0 maps a softmax over
    the last axis of `[1, 4, 49, 49]` (corpus: prbodmann_efficient_l3_transformer).

    ## Why it matters on the Edge TPU
    Coral's op table: "Supports only 1-D input tensor with a max of 16,000 elements."

    ## Example
    **Bad:** a per-pixel softmax in a segmentation head (`[1, 64, 64, 21]`: not 1-D) compiled with
    15.0, or a softmax over 20,000 classes with any compiler.

    ```python
    logits = layers.Conv2D(21, 1)(x)         # [1, 64, 64, 21]
    probs = layers.Softmax(axis=-1)(logits)  # before 16.0: not 1-D, stays on the CPU
    ```

    **Good:** return the logits and take the argmax (or softmax) on the host after inference; a
    classifier's softmax over 1,000 classes maps.

    ```python
    logits = layers.Conv2D(21, 1)(x)         # model output; np.argmax(logits, -1) on the CPU
    ```

    ## How to fix
    Apply the softmax on the CPU after the model (drop it from the graph), or reshape so that it
    runs over a single vector.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    coral.ai/docs/edgetpu/models-intro (Softmax row).
    """
    if not has_check(ctx, "softmax_1d"):
        return
    ins = ctx.data_inputs()
    if not ins:
        return
    t = ins[0]
    nonunit = [d for d in t.shape[:-1] if d > 1]
    cap = int(limits().get("softmax_max_elements", 16000))
    inner = t.shape[-1] if t.shape else 1
    if nonunit and ctx.target.spec.softmax_1d_only:
        yield Violation(
            observed=f"input {t.shape_str()} is not 1-D",
            fix="Reshape the softmax input to [1, N] (or compile with 16.0, which maps a softmax over the last "
            "axis of a 4-D tensor), or run the softmax on the CPU after the model.",
        )
    elif inner > cap:
        yield Violation(
            observed=f"input has {inner} elements (max {cap})",
            fix=f"A reshape does not help: the softmax axis has {inner} elements. Output the logits and take "
            "the softmax on the CPU after inference (or make it the model's last op).",
        )


@rule("TPU106", "concat-constant-input", status="unspecified_limitation", checks=("concat_constant_input",))
def check_concat_constant(ctx: OpContext) -> Iterator[Violation]:
    """A Concatenation has a constant input that is not an all-zero pad, or more than 2 inputs with one.

    ## What it does
    If any input of a Concatenation is a compile-time constant, there must be exactly 2 inputs and
    the constant must be all zeros (a zero-padding op).

    ## Why it matters on the Edge TPU
    Coral's op table states this limitation for Concatenation.

    ## Example
    **Bad:** concatenating a non-zero constant (a learned embedding or a coordinate map) to an
    activation.

    ```python
    coords = tf.constant(np.random.rand(1, 32, 32, 2).astype("float32"))
    x = layers.Concatenate()([x, coords])    # constant input that is not all zeros
    ```

    **Good:** concatenate only computed tensors (an all-zero constant used as padding is fine), and
    add constants with ADD instead.

    ```python
    x = layers.Concatenate()([x, y])         # both produced by the model
    ```

    ## How to fix
    Add the constant with an ADD against a broadcast, or precompute it outside the model.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    coral.ai/docs/edgetpu/models-intro (Concatenation row).
    """
    if not has_check(ctx, "concat_constant_input"):
        return
    consts = ctx.const_inputs()
    if not consts:
        return
    n_in = len([t for t in ctx.op.inputs if t >= 0])
    if n_in != 2:
        yield Violation(observed=f"{len(consts)} constant input(s) among {n_in} inputs")
        return
    for t in consts:
        view = ctx.graph.model.tensor_data(t)
        if view is not None and any(view.tobytes()):
            zp = t.quantization.zero_point if t.quantization else ()
            if not _all_zero_point(view.tobytes(), t.dtype, zp):
                yield Violation(observed=f"constant input '{t.name}' is not all zeros")


def _all_zero_point(data: bytes, dtype: str, zero_point: tuple[int, ...]) -> bool:
    """True when quantized data equals the zero point everywhere (it represents 0.0)."""
    if len(zero_point) != 1:
        return False
    zp = zero_point[0]
    if dtype == "UINT8":
        return all(b == zp for b in data)
    if dtype == "INT8":
        return all((b - 256 if b > 127 else b) == zp for b in data)
    return False


def _axes(ctx: OpContext, index: int, rank: int) -> list[int] | None:
    vals = ctx.const_ints(index)
    if vals is None:
        return None
    return sorted({(a + rank) % rank if rank else a for a in vals})


@rule("TPU107", "reduce-axes", status="unspecified_limitation", checks=("reduce_axes",))
def check_reduce_axes(ctx: OpContext) -> Iterator[Violation]:
    """A Mean/Sum/ReduceMax/ReduceMin reduces over the batch, or over an axis the runtime cannot.

    ## What it does
    Reductions may not touch the batch dimension. With runtime ≤ 12, Mean reduces only along x
    and/or y. From runtime 13, a Mean or Sum over z (channels) needs a channel count that is a
    multiple of 4 (Coral's table states that for Mean and Sum only; ReduceMax/ReduceMin are not
    checked for it).

    ## Why it matters on the Edge TPU
    These are the limitations in Coral's op table; other reductions stay on the CPU.

    ## Example
    **Bad:** a channel mean over 6 channels (not a multiple of 4), or any reduction over the batch.

    ```python
    y = tf.reduce_mean(x, axis=-1, keepdims=True)   # x: [1, 32, 32, 6]
    ```

    **Good:** a spatial reduction (global average pooling), or channels padded to a multiple of 4.

    ```python
    y = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
    ```

    ## How to fix
    Reduce spatially (global average pooling), pad channels to a multiple of 4, or compile for a
    newer runtime.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    coral.ai/docs/edgetpu/models-intro (Mean, Sum, ReduceMax, ReduceMin rows); edgetpu#461.
    """
    if not has_check(ctx, "reduce_axes"):
        return
    ins = ctx.data_inputs()
    if not ins:
        return
    t = ins[0]
    axes = _axes(ctx, 1, t.rank)
    if axes is None:
        return
    rank = t.rank
    if rank >= 4 and 0 in axes and t.shape[0] >= 1:
        yield Violation(
            observed=f"reduces the batch dimension (axes {axes} of {t.shape_str()})",
            fix="Keep batch 1 and reduce over the spatial or channel axes only (leave axis 0 alone).",
        )
        return
    z = rank - 1
    spatial = {rank - 3, rank - 2} if rank >= 3 else set()
    if ctx.op.opcode == "MEAN" and ctx.runtime <= 12 and any(a not in spatial for a in axes):
        yield Violation(
            observed=f"axes {axes} of {t.shape_str()} (runtime {ctx.runtime}: x/y only)",
            fix="Target runtime 13 or newer (--runtime 13), or take the mean over height and width only.",
        )
    elif z in axes and t.shape and t.shape[z] % 4 and has_check(ctx, "reduce_z_multiple_of_4"):  # MEAN, SUM
        c = t.shape[z]
        yield Violation(
            observed=f"z-reduction over {c} channels (not a multiple of 4)",
            fix=f"Reduce over a multiple of 4 channels (e.g. {c + (-c % 4)}: widen the layer before it), or over "
            "height and width only.",
        )


@rule("TPU108", "pad-axes", status="unspecified_limitation", checks=("pad_axes",))
def check_pad_axes(ctx: OpContext) -> Iterator[Violation]:
    """A Pad pads the batch dimension, or (runtime ≤ 12) pads other than x/y.

    ## What it does
    Reads the constant paddings of PAD. Batch padding is never mapped; with runtime ≤ 12 only
    x/y padding is.

    ## Why it matters on the Edge TPU
    Coral's op table lists these limitations for Pad.

    ## Example
    **Bad:** padding the batch dimension (or, with runtime ≤ 12, the channels).

    ```python
    x = tf.pad(x, [[1, 1], [0, 0], [0, 0], [0, 0]])
    ```

    **Good:** spatial padding only.

    ```python
    x = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    ```

    ## How to fix
    Pad spatially only, or compile for runtime ≥ 13 when padding channels.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    coral.ai/docs/edgetpu/models-intro (Pad row).
    """
    if not has_check(ctx, "pad_axes"):
        return
    pads = ctx.const_ints(1)
    ins = ctx.data_inputs()
    if pads is None or not ins:
        return
    rank = ins[0].rank
    pairs = [(pads[2 * i], pads[2 * i + 1]) for i in range(len(pads) // 2)]
    padded = [i for i, p in enumerate(pairs) if p != (0, 0)]
    if rank >= 4 and 0 in padded:
        yield Violation(observed=f"pads the batch dimension: {pairs}")
    elif ctx.runtime <= 12 and any(i < rank - 3 or i == rank - 1 for i in padded):
        yield Violation(observed=f"pads {pairs} (runtime {ctx.runtime}: x/y only)")


@rule("TPU109", "batch-axis-op", status="unspecified_limitation", checks=("pack_axis", "transpose_perm"))
def check_batch_axis(ctx: OpContext) -> Iterator[Violation]:
    """A Pack or Transpose works along the batch dimension of a 4-D tensor.

    ## What it does
    Pack may not stack along the batch dimension of a 4-D output; Transpose may not move the
    batch dimension. (Pack along axis 0 of 2-D inputs maps: corpus prbodmann_efficient_l3_transformer.)

    ## Why it matters on the Edge TPU
    Coral's op table: "No packing in batch dimension"; Transpose likewise keeps the batch in place.

    ## Example
    **Bad:** stacking 3-D tensors along axis 0 (the batch of the 4-D result), or a transpose that
    moves the batch.

    ```python
    y = tf.stack([a, b], axis=0)                 # a, b: [32, 32, 8]
    z = tf.transpose(x, [1, 0, 2, 3])
    ```

    **Good:** stack along an inner axis and keep the batch first.

    ```python
    y = tf.stack([a, b], axis=-1)
    z = tf.transpose(x, [0, 2, 1, 3])
    ```

    ## How to fix
    Stack/split along a channel or spatial axis instead.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    coral.ai/docs/edgetpu/models-intro (Pack, Transpose rows).
    """
    op = ctx.op
    if has_check(ctx, "pack_axis"):
        ins = ctx.data_inputs()
        pack_axis = int(op.options.get("axis", 0) or 0)
        if ins and ins[0].rank >= 3 and pack_axis == 0:
            yield Violation(observed=f"packs along axis 0 of {ins[0].rank + 1}-D output")
    elif has_check(ctx, "transpose_perm"):
        perm = ctx.const_ints(1)
        if perm and len(perm) >= 4 and perm[0] != 0:
            yield Violation(observed=f"perm {list(perm)} moves the batch dimension")


@rule("TPU110", "prelu-alpha", status="unspecified_limitation", checks=("prelu_alpha",))
def check_prelu_alpha(ctx: OpContext) -> Iterator[Violation]:
    """A PReLU's alpha is not 1-dimensional (only its innermost dimension may be larger than 1).

    ## What it does
    Checks the shape of PReLU's constant alpha.

    ## Why it matters on the Edge TPU
    Coral's op table allows only a per-channel alpha vector.

    ## Example
    **Bad:** a PReLU with an alpha per pixel and channel (`[H, W, C]`).

    ```python
    x = layers.PReLU()(x)
    ```

    **Good:** alpha shared across the spatial axes: a per-channel vector.

    ```python
    x = layers.PReLU(shared_axes=[1, 2])(x)
    ```

    ## How to fix
    Share alpha across spatial axes: `tf.keras.layers.PReLU(shared_axes=[1, 2])`.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    coral.ai/docs/edgetpu/models-intro (PReLU row).
    """
    if not has_check(ctx, "prelu_alpha"):
        return
    alpha = ctx.input(1)
    if alpha is not None and any(d > 1 for d in alpha.shape[:-1]):
        yield Violation(observed=f"alpha shape {alpha.shape_str()}")


@rule("TPU111", "fc-weights", status="unspecified_limitation", checks=("fc_default_weights",))
def check_fully_connected(ctx: OpContext) -> Iterator[Violation]:
    """A FullyConnected uses a non-default weight format (or, before compiler 16.0, non-constant weights).

    ## What it does
    FullyConnected maps only with the DEFAULT weights format. Compilers before 16.0 also need
    constant (compile-time) weights; 16.0 maps matmuls of two activations (corpus:
    prbodmann_efficient_l3_transformer attention, redax_rf_gemm_64_16_2_1).

    ## Why it matters on the Edge TPU
    Coral's op table: "Only the default format is supported for fully-connected weights"; model
    parameters must be constant at compile time (Coral "Model requirements").

    ## Example
    **Bad:** a FULLY_CONNECTED whose weights are another activation (a matmul of two tensors) with
    compiler 15.0 or older, or a model whose fully-connected weights use the shuffled
    `SHUFFLED4x16INT8` format.

    ```python
    scores = tf.matmul(q, k, transpose_b=True)   # non-constant weights
    ```

    **Good:** a Dense layer with constant weights in the default format (or compiler 16.0 for
    activation × activation matmuls).

    ```python
    y = layers.Dense(128)(x)
    ```

    ## How to fix
    Keep weights constant (a Dense layer), or restructure the matmul.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    coral.ai/docs/edgetpu/models-intro (FullyConnected row); edgetpu#594; edgetpu#25 (2.0-era
    "not constant" report); corpus cases above for 16.0.
    """
    if not has_check(ctx, "fc_default_weights"):
        return
    fmt = int(ctx.op.options.get("weights_format", 0) or 0)
    if fmt:
        yield Violation(observed=f"weights_format {fmt} (SHUFFLED4x16INT8)")
    w = ctx.input(1)
    if w is not None and not ctx.graph.is_constant(w.index) and ctx.target.spec.requires_constant_weights:
        yield Violation(observed=f"weights '{w.name}' are not constant (compiler {ctx.target.compiler})")


@rule("TPU112", "resize-size", status="unspecified_limitation", checks=("resize_size",))
def check_resize(ctx: OpContext) -> Iterator[Violation]:
    """A ResizeBilinear/ResizeNearestNeighbor is too large to map precisely.

    ## What it does
    Flags a RESIZE_BILINEAR that scales either spatial axis up by more than the factor in
    `rules/edgetpu_ops.toml` (`resize_bilinear_max_upscale`, 2). Compiler 2.0 maps no
    RESIZE_BILINEAR at all ("Image-interpolation layer won't run precisely enough on Edge TPU",
    edgetpu#63; fixed in 2.1).

    ## Why it matters on the Edge TPU
    Coral's op table: "Depending on input/output size, this operation may not be mapped to the Edge
    TPU to avoid loss in precision." In the corpus, bilinear resizes by x1 and x2 map (movenet
    6→12→24→48, cityscapes 33→33) while x15.5 (33→513) and x33 (1→33) do not (the DeepLab cases,
    where that resize is the first CPU op). Resize-nearest maps at x2 in every yolo case.

    ## Example
    **Bad:** upsampling a 1×1 feature map to 33×33 in one bilinear resize (DeepLab's image-pooling
    branch).

    ```python
    y = tf.image.resize(pooled, [33, 33], method="bilinear")   # pooled: [1, 1, 1, 256]
    ```

    **Good:** upsample by at most ×2 per step, or do the final large resize on the CPU after
    inference.

    ```python
    y = layers.UpSampling2D(2, interpolation="bilinear")(x)
    ```

    ## How to fix
    Upsample in steps of at most x2, or move the final large resize out of the model (do it on the
    CPU after inference).

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    coral.ai/docs/edgetpu/models-intro (ResizeBilinear row); edgetpu#31, edgetpu#187, edgetpu#597;
    corpus: coral_td__deeplabv3_*, coral_td__deeplab_mobilenet_edgetpu_slim_cityscapes_quant,
    coral_td__movenet_single_pose_lightning_ptq.
    """
    if not has_check(ctx, "resize_size"):  # RESIZE_BILINEAR (no size limit is known for nearest)
        return
    ins = ctx.data_inputs()
    outs = ctx.outputs()
    if not ins or not outs or ins[0].rank != 4 or outs[0].rank != 4:
        return
    if ctx.target.spec.resize_bilinear_imprecise:
        yield Violation(
            observed=f"{ins[0].shape_str()} -> {outs[0].shape_str()} on compiler {ctx.target.compiler}",
            message=f"Compiler {ctx.target.compiler} maps no bilinear resize (interpolation not precise enough)",
            status="imprecise_interpolation",
            fix="Use compiler 2.1 or newer (edgetpu#63), or a nearest-neighbour resize.",
        )
        return
    cap = float(limits().get("resize_bilinear_max_upscale", 2))
    (_, ih, iw, _), (_, oh, ow, _) = ins[0].shape, outs[0].shape
    fh = oh / max(ih, 1)
    fw = ow / max(iw, 1)
    if fh > cap or fw > cap:
        yield Violation(observed=f"upscale x{max(fh, fw):.1f}: {ins[0].shape_str()} -> {outs[0].shape_str()}")


@rule("TPU115", "split-batch-axis", status="split_2d_output", checks=("split_axis",))
def check_split_axis(ctx: OpContext) -> Iterator[Violation]:
    """A SPLIT splits along axis 0 of a tensor whose first dimension is larger than 1.

    ## What it does
    Reads SPLIT's constant axis. Splitting along the outermost (batch) axis is not mapped when that
    axis is larger than 1; splitting channels or spatial axes is.

    ## Why it matters on the Edge TPU
    Coral's op table: "No splitting in batch dimension." The 16.0 compiler logs the odd status
    "For example, a fully-connected or softmax layer with 2D output" for these ops.

    ## Example
    **Bad:** splitting attention heads along axis 0 of a `[4, 49, 32]` tensor.

    ```python
    heads = tf.split(x, 4, axis=0)      # x: [4, 49, 32]
    ```

    **Good:** keep the heads in an inner dimension and split there.

    ```python
    x = tf.reshape(x, [1, 4 * 49, 32])
    heads = tf.split(x, 4, axis=1)
    ```

    ## How to fix
    Keep heads in an inner dimension (e.g. reshape to `[1, 4*49, 32]` and split along axis 1).

    ## Compiler status
    For example, a fully-connected or softmax layer with 2D output

    ## Sources
    coral.ai/docs/edgetpu/models-intro (Split row); corpus log redax_rf_gemm_64_16_2_1 (SPLIT of
    [64,81,1] along axis 0); prbodmann_efficient_l3_transformer (4 SPLITs along axis 0, CPU).
    """
    if not has_check(ctx, "split_axis"):
        return
    axis = ctx.const_ints(0)
    x = ctx.input(1)
    if axis and x is not None and x.rank and axis[0] % x.rank == 0 and x.shape[0] > 1:
        yield Violation(observed=f"splits axis 0 of {x.shape_str()}")


@rule("TPU116", "transpose-size", status="unspecified_limitation", opcodes=("TRANSPOSE",))
def check_transpose_size(ctx: OpContext) -> Iterator[Violation]:
    """A TRANSPOSE moves more elements than the Edge TPU maps.

    ## What it does
    Flags TRANSPOSE ops whose output has more elements than `transpose_max_elements` in
    `rules/edgetpu_ops.toml` (98,304: the corpus puts the limit between 69,696, which maps, and
    104,000, which does not).

    ## Why it matters on the Edge TPU
    Large transposes stay on the CPU, and in YOLOv5/v8 heads the first one ends the Edge TPU
    subgraph: everything after it runs on the CPU.

    ## Example
    **Bad:** a YOLOv8 head exported at 640×640 transposes `[1, 40, 40, 65]` to `[1, 65, 40, 40]`
    (104,000 elements).

    ```sh
    yolo export model=yolov8n.pt format=edgetpu imgsz=640
    ```

    **Good:** a smaller input size keeps every transpose under the limit (or end the Edge TPU part
    before the head with `-i`).

    ```sh
    yolo export model=yolov8n.pt format=edgetpu imgsz=320
    ```

    ## How to fix
    Export at a smaller input size, or end the Edge TPU subgraph before the head's transposes
    (`-i` with the tensors before them) and do the decoding on the CPU.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation

    ## Sources
    Corpus logs nerbivol_yolov8n and goalbuddy_yolov8n_tpu (TRANSPOSE "otherwise supported");
    gaada_yolov8n_640, giovanimn_epi_yolov8n_640, edward_mot_yolov5nu_352 (first CPU op).
    """
    if ctx.op.opcode != "TRANSPOSE":
        return
    outs = ctx.outputs()
    cap = int(limits().get("transpose_max_elements", 98304))
    if outs and outs[0].elements > cap:
        yield Violation(observed=f"{outs[0].elements:,} elements {outs[0].shape_str()} (max {cap:,})")


@rule("TPU117", "fc-2d-output", status="split_2d_output", checks=("fc_1d_output",))
def check_fc_output(ctx: OpContext) -> Iterator[Violation]:
    """A FULLY_CONNECTED has a multi-row (2-D) output, which compilers before 16.0 do not map.

    ## What it does
    Flags FULLY_CONNECTED ops whose output has a dimension larger than 1 besides the innermost
    (`[1, 49, 128]`, `[8, 10]`: one row per token or per item), for compilers before 16.0. Coral's
    op table: "Output tensor is one-dimensional." Compiler 16.0 maps such outputs (corpus).

    ## Why it matters on the Edge TPU
    The op stays on the CPU, and so does everything after it: transformer and per-token Dense
    layers (Keras `Dense` on a 3-D input keeps the token axis) fall back to the CPU on older
    compilers.

    ## Example
    **Bad:** a Dense layer applied per token, compiled with 15.0.

    ```python
    x = layers.Input((49, 96))
    y = layers.Dense(128)(x)          # FULLY_CONNECTED with output [1, 49, 128]
    ```

    **Good:** compile with 16.0, or flatten before the Dense layer when one output row is meant.

    ```sh
    edgetpu_compiler model.tflite     # 16.0
    ```

    ## How to fix
    Use compiler 16.0, which maps FULLY_CONNECTED with multi-row outputs; or reshape so the layer
    produces one row (a 1x1 CONV_2D over a `[1, H, W, C]` tensor computes the same per-position
    product and maps on every compiler).

    ## Compiler status
    For example, a fully-connected or softmax layer with 2D output (inferred: the compiler's own
    status text for 2-D outputs, seen on a 16.0 SPLIT; no log of this case from an older compiler)

    ## Sources
    coral.ai/docs/edgetpu/models-intro (FullyConnected: "Output tensor is one-dimensional");
    corpus: prbodmann_efficient_l3_transformer and redax_rf_gemm_64_16_2_1 map 2-D outputs on 16.0.
    """
    if not has_check(ctx, "fc_1d_output") or not ctx.target.spec.fc_1d_output_only:
        return
    outs = ctx.outputs()
    if outs and any(d > 1 for d in outs[0].shape[:-1]):
        yield Violation(
            observed=f"output {outs[0].shape_str()} has {outs[0].elements // max(outs[0].shape[-1], 1)} rows "
            f"(compiler {ctx.target.compiler})",
        )


@rule("TPU118", "mean-size", status="unspecified_limitation", checks=("mean_size",))
def check_mean_size(ctx: OpContext) -> Iterator[Violation]:
    """A MEAN reads more elements than the Edge TPU maps.

    ## What it does
    Flags MEAN ops whose input has more than `mean_max_input_elements` elements (rules/edgetpu_ops.toml:
    98,303; a maintainer reports a MEAN of `[1, 256, 128, 3]`, 98,304 elements, as not mapped, and the
    corpus maps 62,720).

    ## Why it matters on the Edge TPU
    The op stays on the CPU. A global average pooling early in a model (an attention or
    normalization block near the input) then puts almost everything after it on the CPU: 99% of
    the model in edgetpu#461.

    ## Example
    **Bad:** a global mean over a large early feature map.

    ```python
    x = layers.Input((256, 128, 3))
    m = tf.reduce_mean(x, axis=[1, 2], keepdims=True)     # MEAN of 98,304 elements
    ```

    **Good:** split the input, take the mean of each part, then average the parts (edgetpu#461:
    every MEAN then maps).

    ```python
    parts = tf.split(x, 4, axis=1)                          # four [1, 64, 128, 3]
    m = tf.add_n([tf.reduce_mean(p, axis=[1, 2], keepdims=True) for p in parts]) / 4
    ```

    ## How to fix
    Split the input along height, take the MEAN of each chunk and average the results; or shrink
    the input first with AVERAGE_POOL_2D.

    ## Compiler status
    Operation is otherwise supported, but not mapped due to some unspecified limitation (inferred:
    the maintainer's reply names the op, not the status)

    ## Sources
    google-coral/edgetpu#461 (hjonnala: "Mean operation with input size (1x256x128x3) not able to
    mapped"; PINTO0309's split version maps); corpus facemask_teachable_machine ([1,7,7,1280] maps).
    """
    if not has_check(ctx, "mean_size"):
        return
    ins = ctx.data_inputs()
    cap = int(limits().get("mean_max_input_elements", 98303))
    if ins and ins[0].elements > cap:
        yield Violation(observed=f"input {ins[0].shape_str()}: {ins[0].elements:,} elements (max {cap:,})")


@rule("TPU119", "lstm-input-width", severity="warning", status=None, blocks=False, checks=("lstm_input_width",))
def check_lstm_width(ctx: OpContext) -> Iterator[Violation]:
    """An LSTM's input is wider than the compiler is known to handle; it may fail with no reason.

    ## What it does
    Warns when the innermost dimension of a UNIDIRECTIONAL_SEQUENCE_LSTM's input (the features per
    time step) is above `lstm_max_input_width` in `rules/edgetpu_ops.toml` (900).

    ## Why it matters on the Edge TPU
    A user report (edgetpu#598, compiler 16.0): an LSTM(32) over `[1, 5, X]` compiles for X below
    about 900 and fails above 1000 with only "Compilation failed!", for the whole model. The exact
    limit is not known, so this is a warning: the prediction (placement) does not change.

    ## Example
    **Bad:** an LSTM directly on MobileNetV2 features (1,280 per frame).

    ```python
    frames = layers.Input((5, 1280))
    x = layers.LSTM(32)(frames)
    ```

    **Good:** project the features down first.

    ```python
    x = layers.Dense(256, activation="relu")(frames)   # [1, 5, 256]
    x = layers.LSTM(32)(x)
    ```

    ## How to fix
    Reduce the LSTM's input width with a projection (Dense or 1x1 conv) before it, or run the LSTM
    on the CPU.

    ## Compiler status
    None (a compile failure of the whole model, not a per-op status).

    ## Sources
    google-coral/edgetpu#598.
    """
    if not has_check(ctx, "lstm_input_width"):
        return
    ins = ctx.data_inputs()
    cap = int(limits().get("lstm_max_input_width", 900))
    if ins and ins[0].shape and ins[0].shape[-1] > cap:
        yield Violation(
            observed=f"input {ins[0].shape_str()}: {ins[0].shape[-1]} features per step "
            f"(known to compile: up to about {cap})"
        )


@rule("TPU113", "flex-op", scope="model", status=None)
def check_flex(ctx: ModelContext) -> Iterator[Violation]:
    """The model contains TensorFlow (Flex / SELECT_TF_OPS) ops.

    ## What it does
    Finds custom ops named `Flex…`, which the converter emits with `SELECT_TF_OPS`.

    ## Why it matters on the Edge TPU
    The compiler loads the model in a TFLite interpreter without the Flex delegate and stops:
    "Regular TensorFlow ops are not supported by this interpreter." Nothing is compiled.

    ## Example
    **Bad:** converting with TensorFlow ops enabled, so `tf.signal.stft` becomes a Flex op.

    ```python
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
    ```

    **Good:** builtin int8 ops only (replace or remove what does not convert).

    ```python
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    ```

    ## How to fix
    Remove the TF ops (replace with builtins) and convert with `TFLITE_BUILTINS_INT8` only.

    ## Compiler status
    Compilation failed: Model failed in Tflite interpreter (hard error).

    ## Sources
    edgetpu#718, edgetpu#479.
    """
    for g in ctx.graphs:
        for op in g.subgraph.ops:
            if op.opcode == "CUSTOM" and (op.custom_code or "").startswith("Flex"):
                yield Violation(
                    observed=f"op {op.index} {op.custom_code}", op_index=op.index, subgraph=g.subgraph.index
                )


@rule("TPU114", "unknown-custom-op", scope="model", status=None)
def check_unknown_custom(ctx: ModelContext) -> Iterator[Violation]:
    """The model contains a custom op the compiler's interpreter does not know.

    ## What it does
    Custom ops other than `TFLite_Detection_PostProcess`, `PosenetDecoderOp` and
    `edgetpu-custom-op` cannot be resolved by the compiler.

    ## Why it matters on the Edge TPU
    The compiler stops with "Encountered unresolved custom op" and writes nothing.

    ## Example
    **Bad:** a model with a custom op the compiler does not know (here `Atan`, registered with
    `converter.allow_custom_ops = True`).

    ```python
    converter.allow_custom_ops = True   # emits CUSTOM 'Atan'
    ```

    **Good:** builtins only, or the custom part split into a second model that runs on the CPU.
    Known custom ops such as `TFLite_Detection_PostProcess` at the end of a detector are fine.

    ```python
    converter.allow_custom_ops = False
    ```

    ## How to fix
    Replace the custom op with builtins, or split the model and run that part on the CPU.

    ## Compiler status
    Compilation failed: Model failed in Tflite interpreter (hard error).

    ## Sources
    ../shared/research/edgetpu_rules.md §2.5 (Atan example, compiler 16.0).
    """
    for g in ctx.graphs:
        for op in g.subgraph.ops:
            code = op.custom_code or ""
            if op.opcode == "CUSTOM" and code not in KNOWN_CUSTOM_OPS and not code.startswith("Flex"):
                yield Violation(observed=f"op {op.index} custom '{code}'", op_index=op.index, subgraph=g.subgraph.index)
