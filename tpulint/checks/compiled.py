"""Findings on an already-compiled ``*_edgetpu.tflite``, from the DWN1 packages inside it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tpulint.context import Target
from tpulint.registry import Violation, rule
from tpulint.units import size

if TYPE_CHECKING:  # the compiler package is imported only when a compiled model is checked
    from tpulint.compiler.compiled import CompiledModel


@dataclass
class CompiledContext:
    compiled: CompiledModel
    target: Target


@rule("TPU404", "package-needs-newer-runtime", scope="compiled", severity="error", status=None, blocks=False)
def check_package_runtime(ctx: CompiledContext) -> Iterator[Violation]:
    """A compiled model's Edge TPU package requires a newer runtime than the target runtime.

    ## What it does
    Reads `min_runtime_version` from the DarwiNN (`DWN1`) package inside every `edgetpu-custom-op`
    and compares it with the runtime given by `--runtime` (default: the newest runtime of the
    compiler version, 14 for 16.0).

    ## Why it matters on the Edge TPU
    The runtime refuses the model when it is loaded: "Failed precondition: Package requires
    runtime version (14), which is newer than this runtime version (13)". The compiler stamps the
    newest runtime it knows unless `-m` says otherwise.

    ## Example
    **Bad:** a model compiled by compiler 16.0 with the default `-m`, deployed on a board whose
    libedgetpu is runtime 13.

    ```sh
    edgetpu_compiler model.tflite
    tpulint check model_edgetpu.tflite --runtime 13
    ```

    **Good:** compile for the runtime the device has.

    ```sh
    edgetpu_compiler -m 13 model.tflite
    ```

    ## How to fix
    Recompile with `edgetpu_compiler -m N` (N = the device's runtime), or update the device's
    Edge TPU runtime (libedgetpu).

    ## Compiler status
    (none — the runtime on the device refuses the package)

    ## Sources
    google-coral/libedgetpu driver/package_registry.cc; edgetpu#435, pycoral#104.
    """
    from tpulint.compiler.inspection import RUNTIME_REFUSAL, required_runtime

    need = required_runtime(ctx.compiled)
    have = ctx.target.effective_runtime
    if need is not None and need > have:
        yield Violation(
            observed=f"package min_runtime_version {need}, target runtime {have}: "
            + RUNTIME_REFUSAL.format(need=need, have=have),
            extra={"required_runtime": need, "runtime": have},
        )


@rule("TPU602", "parameters-streamed", scope="compiled", severity="warning", status=None, blocks=False)
def check_streamed(ctx: CompiledContext) -> Iterator[Violation]:
    """A compiled model streams parameters from host memory on every inference.

    ## What it does
    Adds up the parameter bytes of the execution-only and stand-alone executables inside the
    compiled model's packages: those are sent to the Edge TPU with every inference, while the
    parameter-caching executable's bytes are loaded into on-chip memory once.

    ## Why it matters on the Edge TPU
    Streaming parameters over USB or PCIe costs time on every inference; a model whose
    parameters fit on chip runs several times faster (Coral: "Off-chip memory used for streaming
    uncached model parameters").

    ## Example
    **Bad:** a classifier with a large dense layer; its parameters do not fit the ~8 MB on-chip
    memory, and the compiler puts the excess in the execution-only executable.

    ```python
    x = layers.Dense(4096)(layers.Flatten()(x))
    ```

    **Good:** fewer parameters, or the model pipelined over several Edge TPUs.

    ```sh
    edgetpu_compiler -n 2 model.tflite
    ```

    ## How to fix
    Shrink the model (fewer channels, global pooling before the classifier), pipeline it with
    `edgetpu_compiler -n N`, or, for co-compiled models, compile fewer models together.

    ## Compiler status
    Mapped to Edge TPU (with off-chip parameter streaming)

    ## Sources
    google-coral/libedgetpu executable/executable.fbs (`ExecutableType`); coral.ai/docs/edgetpu/compiler
    (parameter data caching); ../shared/research/edgetpu_rules.md §3.10.
    """
    from tpulint.compiler.inspection import streamed_bytes

    streamed = streamed_bytes(ctx.compiled)
    if streamed > 0:
        yield Violation(
            observed=f"{size(streamed)} of parameters streamed from host memory on every inference",
            extra={"streamed_bytes": streamed},
        )
