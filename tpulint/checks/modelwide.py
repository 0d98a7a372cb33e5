"""TPU9xx model-level facts: an already-compiled model as input, or one compiled for another accelerator."""

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
    **Bad:** linting the compiler's output; tpulint can only report what the compiler did.

    ```sh
    tpulint check mobilenet_v1_1.0_224_quant_edgetpu.tflite
    ```

    **Good:** linting the model before compilation, to get a reason and a fix per op.

    ```sh
    tpulint check mobilenet_v1_1.0_224_quant.tflite
    ```

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


# Custom ops that another vendor's NPU compiler writes in place of the ops it took over: the model
# was compiled for that accelerator, and its ops are no longer TFLite builtins the Edge TPU compiler
# could map. custom code -> (accelerator, the tool that produced it).
OTHER_ACCELERATOR_OPS: dict[str, tuple[str, str]] = {
    "ethos-u": ("an Arm Ethos-U NPU", "Arm's Vela compiler"),
    "NeutronGraph": ("an NXP eIQ Neutron NPU", "NXP's neutron-converter"),
    "vsi-npu": ("a VeriSilicon NPU (network binary graph, e.g. NXP i.MX 8M Plus)", "the TFLite VX delegate"),
}


@rule("TPU911", "other-accelerator", scope="model", severity="error", status=None, blocks=False)
def check_other_accelerator(ctx: ModelContext) -> Iterator[Violation]:
    """The model is already compiled for another vendor's accelerator (Ethos-U, Neutron, VeriSilicon).

    ## What it does
    Recognises the custom ops that other NPU compilers leave in a `.tflite` in place of the ops
    they took over: `ethos-u` (Arm's Vela, for Ethos-U55/U65/U85), `NeutronGraph` (NXP's
    neutron-converter, for the eIQ Neutron NPU) and `vsi-npu` (a VeriSilicon network binary graph
    made through the TFLite VX delegate). One finding per accelerator, at its first such op.

    ## Why it matters on the Edge TPU
    Such a model holds another chip's command stream instead of TFLite ops. `edgetpu_compiler`
    cannot resolve the custom op (TPU114: it stops with "Encountered unresolved custom op") and
    could not map what is inside it anyway; typically the file was picked up from the wrong build
    output (`output/*_vela.tflite`, a Neutron-converted model).

    ## Example
    **Bad:** the Vela output of a model, given to the Edge TPU toolchain.

    ```sh
    vela mobilenet_int8.tflite --accelerator-config ethos-u55-128   # writes output/mobilenet_int8_vela.tflite
    tpulint check output/mobilenet_int8_vela.tflite
    ```

    **Good:** the same int8 model before the other vendor's compiler ran.

    ```sh
    tpulint check mobilenet_int8.tflite && edgetpu_compiler mobilenet_int8.tflite
    ```

    ## How to fix
    Lint and compile the original full-integer `.tflite` (the input of Vela, neutron-converter or
    the VX delegate's NBG export), not its output.

    ## Compiler status
    (none — the compiler stops on the unresolved custom op, see TPU114)

    ## Sources
    Arm ethos-u-vela and ethos-u-linux-driver-stack (`ETHOSU_CUSTOM_NAME "ethos-u"`); NXP
    tflite-micro / Neutron delegate (`NEUTRON_CUSTOM_NAME "NeutronGraph"`); VeriSilicon
    tflite-vx-delegate (`kNbgCustomOp[] = "vsi-npu"`).
    """
    seen: set[str] = set()
    for g in ctx.graphs:
        for op in g.subgraph.ops:
            code = op.custom_code or ""
            if op.opcode != "CUSTOM" or code not in OTHER_ACCELERATOR_OPS or code in seen:
                continue
            seen.add(code)
            count = sum(1 for o in ctx.model.iter_ops() if o.opcode == "CUSTOM" and o.custom_code == code)
            chip, tool = OTHER_ACCELERATOR_OPS[code]
            yield Violation(
                observed=f"{count} '{code}' custom op(s): the model was compiled for {chip} by {tool}",
                op_index=op.index,
                subgraph=g.subgraph.index,
            )
