"""TPU6xx: on-chip memory (parameter cache) estimates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tpulint.registry import Violation, rule

# The compiler reports 6.9-7.7 MiB usable for cached parameters, not the 8 MiB of the data sheet
# (../shared/research/edgetpu_rules.md §3.10). We use the low end of what the logs show.
ON_CHIP_PARAM_BYTES = int(6.9 * 1024 * 1024)


@dataclass
class MemoryContext:
    param_bytes_tpu: int


def split_params(param_bytes_tpu: int) -> tuple[int, int]:
    """(on-chip, off-chip) parameter bytes for the Edge TPU part."""
    on_chip = min(param_bytes_tpu, ON_CHIP_PARAM_BYTES)
    return on_chip, param_bytes_tpu - on_chip


@rule("TPU601", "params-exceed-cache", scope="memory", severity="warning", status=None, blocks=False)
def check_param_cache(ctx: MemoryContext) -> Iterator[Violation]:
    """The Edge TPU part's parameters do not fit the on-chip parameter cache.

    ## What it does
    Adds up the constant data (weights, biases) of the ops predicted on the Edge TPU and compares it
    with the ~6.9 MiB the compiler reports as usable on-chip.

    ## Why it matters on the Edge TPU
    Parameters that do not fit are streamed from host memory on every inference ("Off-chip memory
    used for streaming uncached model parameters"). The model still maps fully but runs much
    slower, especially over USB.

    ## Example
    **Bad:** a VGG-style classifier with ~100 MB of fully-connected weights: most parameters are
    streamed from host memory on every inference.

    ```python
    x = layers.Dense(4096)(layers.Flatten()(x))   # 7x7x512 -> 4096: ~100 M int8 weights
    ```

    **Good:** global average pooling and a small classifier, or the model pipelined over several
    Edge TPUs (`edgetpu_compiler -n 2`).

    ```python
    x = layers.Dense(1000)(layers.GlobalAveragePooling2D()(x))
    ```

    ## How to fix
    Shrink the model (fewer channels, smaller dense layers), or pipeline it over several Edge TPUs
    with `edgetpu_compiler -n N`.

    ## Compiler status
    Mapped to Edge TPU (with off-chip parameter streaming)

    ## Sources
    ../shared/research/edgetpu_rules.md §3.10; edgetpu#60, edgetpu#663.
    """
    _, off_chip = split_params(ctx.param_bytes_tpu)
    if off_chip > 0:
        yield Violation(
            observed=f"{ctx.param_bytes_tpu / 2**20:.2f} MiB of parameters on the Edge TPU, "
            f"~{off_chip / 2**20:.2f} MiB streamed off-chip"
        )
