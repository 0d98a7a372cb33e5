"""TPU4xx: Edge TPU runtime version (`-m`) and builtin op versions per compiler."""

from __future__ import annotations

from collections.abc import Iterator

from tpulint.context import ModelContext, OpContext, Target
from tpulint.model import Op
from tpulint.quantmode import EIGHT_BIT
from tpulint.registry import Violation, rule
from tpulint.ruledata import OpSpec


def _needs_newer_runtime(opcode: str, spec: OpSpec | None, target: Target) -> bool:
    """TPU401 can fire: the op table names a minimum runtime above the target's for this op type."""
    return spec is not None and spec.min_runtime > target.effective_runtime


@rule("TPU401", "needs-newer-runtime", status="not_supported", when=_needs_newer_runtime)
def check_min_runtime(ctx: OpContext) -> Iterator[Violation]:
    """The op needs a newer Edge TPU runtime than the one targeted (`--runtime` / `-m`).

    ## What it does
    Compares the op's minimum runtime version in Coral's table (e.g. TRANSPOSE, REDUCE_MAX ≥ 14;
    QUANTIZE, PACK, PRELU, TRANSPOSE_CONV ≥ 13) with the target runtime.

    ## Why it matters on the Edge TPU
    Lowering `-m` turns features off: the compiler does not map ops that the older runtime cannot
    execute, and everything after them falls to the CPU.

    ## Example
    **Bad:** a model with TRANSPOSE (runtime 14) compiled for runtime 13.

    ```sh
    edgetpu_compiler -m 13 yolov8n_full_integer_quant.tflite
    ```

    **Good:** the runtime the op needs (and libedgetpu updated on the device).

    ```sh
    edgetpu_compiler -m 14 yolov8n_full_integer_quant.tflite
    ```

    ## How to fix
    Target a newer runtime (`--runtime 14`, compiler 16.0) and update libedgetpu on the device, or
    replace the op.

    ## Compiler status
    Operation not supported

    ## Sources
    edgetpu#225, edgetpu#342, edgetpu#439; coral.ai/docs/edgetpu/models-intro (runtime column).
    """
    if ctx.spec is not None and ctx.spec.min_runtime > ctx.runtime:
        need, compiler = ctx.spec.min_runtime, ctx.target.compiler
        if ctx.target.spec.default_runtime >= need:
            how = f"--runtime {need} (edgetpu_compiler -m {need}; compiler {compiler} accepts it)"
        else:
            how = f"compiler 16.0 with --runtime {need} (compiler {compiler} targets at most runtime "
            how += f"{ctx.target.spec.default_runtime})"
        yield Violation(
            observed=f"{ctx.op.opcode} needs runtime ≥ {need}, target is {ctx.runtime}",
            fix=f"Target {how} and use libedgetpu {need} or newer on the device, or replace the op.",
        )


@rule("TPU402", "op-version-too-new", scope="model", status=None)
def check_op_version_ceiling(ctx: ModelContext) -> Iterator[Violation]:
    """An op's builtin version is newer than the compiler's embedded TFLite can parse.

    ## What it does
    Compares each builtin op version with the per-compiler ceilings in `rules/compilers.toml`
    (e.g. compiler 16.0 parses CONV_2D up to v5 and TRANSPOSE_CONV up to v3).

    ## Why it matters on the Edge TPU
    The compiler cannot even load the model: "Didn't find op for builtin opcode 'CONV_2D' version
    '6'… Model could not be parsed."

    ## Example
    **Bad:** a model converted by TF 2.9 with CONV_2D version 6, compiled with 16.0 (edgetpu#631).

    ```sh
    pip install tensorflow==2.9.0 && python convert.py
    ```

    **Good:** a TensorFlow release whose op versions the compiler can parse.

    ```sh
    pip install tensorflow==2.8.4 && python convert.py
    ```

    ## How to fix
    Convert with an older TensorFlow (2.8.x for compiler 16.0), or
    `converter.experimental_new_converter = False` for TRANSPOSE_CONV (edgetpu#845).

    ## Compiler status
    Model could not be parsed (hard error).

    ## Sources
    edgetpu#45, edgetpu#340, edgetpu#358, edgetpu#631, edgetpu#845, tensorflow#43288, libedgetpu#71.
    """
    ceilings = ctx.target.spec.max_op_version
    reported: set[tuple[str, int]] = set()
    for g in ctx.graphs:
        for op in g.subgraph.ops:
            limit = ceilings.get(op.opcode)
            if limit is not None and op.version > limit and (op.opcode, op.version) not in reported:
                reported.add((op.opcode, op.version))
                yield Violation(
                    observed=f"{op.opcode} version {op.version} > {limit} (compiler {ctx.target.compiler})",
                    op_index=op.index,
                    subgraph=g.subgraph.index,
                    extra={"op": op.opcode, "version": op.version},
                    fix=_older_tensorflow_fix(ctx.target.compiler),
                )


def _older_tensorflow_fix(compiler: str) -> str | None:
    """TPU402's fix with the newest TensorFlow whose op versions ``compiler`` parses, where known."""
    from tpulint.ruledata import compilers

    tf = compilers()[compiler].tensorflow_max
    if tf is None:
        return None  # the rule's generic fix (rules/messages.toml)
    return (
        f"Convert with TensorFlow {tf}.x, the newest whose converter writes op versions compiler {compiler} "
        f"parses (pip install 'tensorflow=={tf}.*'; only the conversion needs it), or with the old "
        "converter (experimental_new_converter=False)."
    )


def _has_unmapped_versions(opcode: str, spec: OpSpec | None, target: Target) -> bool:
    """TPU403 can fire: the target's compiler leaves some version of this op type unmapped."""
    return target.spec.unmapped_versions.get(opcode) is not None


@rule("TPU403", "op-version-not-mapped", status="version_not_supported", when=_has_unmapped_versions)
def check_op_version_unmapped(ctx: OpContext) -> Iterator[Violation]:
    """The compiler parses this op version but does not map it.

    ## What it does
    Flags op versions the given compiler is known to leave on the CPU, e.g. RESIZE_BILINEAR /
    RESIZE_NEAREST_NEIGHBOR v3 (`half_pixel_centers`, TF ≥ 2.3) on compilers 14.1 and 15.0, or ADD v4
    on 16.0. A model has one operator code per op type, with the highest version any of its ops
    needs, so a few ADDs on int64 tensors make every ADD version 4: the finding then names those ops.

    ## Why it matters on the Edge TPU
    The op stays on the CPU with "Operation version not supported", and so does everything after it.

    ## Example
    **Bad:** a TF 2.4 model with `tf.image.resize` (a newer op version) compiled with 15.0
    (edgetpu#396).

    ```sh
    edgetpu_compiler_15 model.tflite
    ```

    **Good:** compiler 16.0, which maps that version.

    ```sh
    edgetpu_compiler model.tflite    # 16.0
    ```

    ## How to fix
    Use a compiler that maps the version (the finding names it: 16.0 for RESIZE v3), or convert so
    the op gets an older version: with TF 2.2, or -- when other ops of the same type on int64 /
    int16 tensors raise it -- without those ops (do that arithmetic outside the model). YOLOv10's
    export has 3 int64 ADDs that leave its 12 int8 ADDs unmapped (corpus: edward_mot_yolov10n_192).

    ## Compiler status
    Operation version not supported

    ## Sources
    edgetpu#206, edgetpu#396, guichristmann/edge-tpu-tiny-yolo#10.
    """
    op = ctx.op
    lowest = ctx.target.spec.unmapped_versions.get(op.opcode)
    if lowest is None or op.version < lowest:
        return
    observed = f"{op.opcode} version {op.version} on compiler {ctx.target.compiler}"
    newer = _newer_compilers_mapping(op.opcode, op.version, ctx.target.compiler)
    use_newer = f"Use compiler {newer[0]}, which maps {op.opcode} v{op.version}" if newer else ""
    raisers = _version_raisers(ctx)
    if raisers:
        types = sorted({ctx.graph.tensor(o.inputs[0]).dtype for o in raisers})
        listed = ", ".join(str(o.index) for o in raisers[:8]) + (", ..." if len(raisers) > 8 else "")
        observed += (
            f"; the model has one {op.opcode} operator code for all its {op.opcode} ops, and {len(raisers)} "
            f"of them work on {'/'.join(types)} tensors (ops {listed}): what raises it to version {op.version}"
        )
        fix = (
            f"Remove the {'/'.join(types)} {op.opcode} ops from the model (do that arithmetic in "
            f"pre- or post-processing, or in int32 / 8-bit): the converter then gives {op.opcode} an "
            "older version and the 8-bit ones map."
        ) + (f" Or: {use_newer}." if use_newer else "")
        yield Violation(observed=observed, fix=fix)
    elif use_newer:
        yield Violation(
            observed=observed, fix=f"{use_newer}, or convert with TensorFlow 2.2 so the op keeps an older version."
        )
    else:
        yield Violation(
            observed=observed,
            fix=f"No Edge TPU compiler maps {op.opcode} v{op.version}: convert so the op gets an older "
            "version (an older TensorFlow, or without the feature that needs it).",
        )


def _newer_compilers_mapping(opcode: str, version: int, current: str) -> list[str]:
    """Compilers newer than ``current`` known to map ``opcode`` at ``version`` (newest first): they
    parse it (no known ceiling below it) and do not list it as unmapped."""
    from tpulint.context import COMPILER_VERSIONS
    from tpulint.ruledata import compilers

    specs = compilers()
    newer = COMPILER_VERSIONS[: COMPILER_VERSIONS.index(current)] if current in COMPILER_VERSIONS else ()
    out = []
    for name in newer:
        spec = specs[name]
        ceiling, lowest = spec.max_op_version.get(opcode), spec.unmapped_versions.get(opcode)
        if (ceiling is None or version <= ceiling) and (lowest is None or version < lowest):
            out.append(name)
    return out


def _version_raisers(ctx: OpContext) -> list[Op]:
    """For an op on 8-bit tensors: the ops of its type on other types (int64, int16, int32, float).
    Op versions belong to the operator code, which all ops of a type share, so those ops set the
    version this op gets (corpus: edward_mot_yolov10n_192, 3 int64 ADDs make its 12 int8 ADDs v4)."""
    g, op = ctx.graph, ctx.op
    if not op.inputs or op.inputs[0] < 0 or g.tensor(op.inputs[0]).dtype not in EIGHT_BIT:
        return []
    return [
        o
        for o in g.ops_of_type(op.opcode)
        if o.inputs and o.inputs[0] >= 0 and g.tensor(o.inputs[0]).dtype not in EIGHT_BIT
    ]
