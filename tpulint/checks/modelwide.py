"""TPU9xx model-level facts that are not errors: e.g. an already-compiled model as input."""

from __future__ import annotations

from collections.abc import Iterator

from tpulint.context import ModelContext
from tpulint.registry import Violation, rule


@rule("TPU910", "already-compiled", scope="model", severity="info", status=None, blocks=False)
def check_compiled(ctx: ModelContext) -> Iterator[Violation]:
    """The input is an already-compiled `*_edgetpu.tflite` model.

    ## What it does
    Recognises the `edgetpu-custom-op` custom op that `edgetpu_compiler` writes. The report then
    shows the real compiler's result: how many Edge TPU custom ops there are and which ops were
    left on the CPU. No prediction is made.

    ## Why it matters on the Edge TPU
    Compiling a compiled model again does nothing useful; the original model is what tpulint
    should check.

    ## Example
    `mobilenet_v1_1.0_224_quant_edgetpu.tflite`.

    ## How to fix
    Run tpulint on the model before compilation to get per-op reasons.

    ## Compiler status
    (none — this is the compiler's output)

    ## Sources
    google-coral/libedgetpu tflite/public/edgetpu.h (`kCustomOp = "edgetpu-custom-op"`).
    """
    if ctx.model.is_compiled:
        n = sum(1 for op in ctx.model.iter_ops() if op.custom_code == "edgetpu-custom-op")
        cpu = sum(1 for op in ctx.model.subgraphs[0].ops if op.custom_code != "edgetpu-custom-op")
        yield Violation(observed=f"{n} edgetpu-custom-op, {cpu} op(s) left on the CPU")
