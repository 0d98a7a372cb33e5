"""TPU6xx: on-chip memory (parameter cache), from the memory model of :mod:`tpulint.param_memory`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tpulint.param_memory import STREAMED, MemoryPrediction, Segment, streams_significantly
from tpulint.registry import Violation, rule
from tpulint.units import size


@dataclass
class MemoryContext:
    param_bytes_tpu: int  # the TFLite constant data of the ops on the Edge TPU
    prediction: MemoryPrediction


def memory_dict(p: MemoryPrediction) -> dict[str, Any]:
    """The report's ``memory`` block: the compiler's three memory lines and the executables' sizes."""
    return {
        "on_chip_used_bytes": p.on_chip_used_bytes,
        "on_chip_remaining_bytes": p.on_chip_remaining_bytes,
        "off_chip_bytes": p.off_chip_bytes,
        "cached_param_bytes": p.cached_bytes,
        "streamed_param_bytes": p.streamed_bytes,
        "capacity_bytes": p.capacity_bytes,
        "fits_on_chip": p.fits_on_chip,
    }


def segment_dict(seg: Segment) -> dict[str, Any]:
    return {
        "index": seg.index,
        "first_op": seg.first_op,
        "last_op": seg.last_op,
        "ops": len(seg.ops),
        "param_bytes": seg.param_bytes,
        "on_chip_bytes": seg.on_chip_bytes,
        "fits_on_chip": seg.fits_on_chip,
        "memory": memory_dict(seg.prediction),
        "inputs": list(seg.inputs),
        "outputs": list(seg.outputs),
    }


@rule("TPU601", "params-exceed-cache", scope="memory", severity="warning", status=None, blocks=False)
def check_param_cache(ctx: MemoryContext) -> Iterator[Violation]:
    """The Edge TPU part's parameters do not fit the on-chip parameter cache.

    ## What it does
    Lays out the parameters of the ops predicted on the Edge TPU the way the compiler does
    (`rules/memory.toml`: padded weight rows, bias and scale rows, 64-byte blocks), fills the
    on-chip cache (about 7.69 MiB) and reports what is streamed: cacheable parameters that did not
    fit, or element-wise constants (always streamed) when they are 5% of the parameters or more.

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
    p = ctx.prediction
    if p.streamed_bytes and (not p.fits_on_chip or streams_significantly(p.streamed_bytes, p.total_bytes)):
        yield Violation(
            observed=f"{p.total_bytes / 2**20:.2f} MiB of Edge TPU parameters, {p.streamed_bytes / 2**20:.2f} MiB "
            f"streamed from host memory on every inference (on-chip cache {p.capacity_bytes / 2**20:.2f} MiB); "
            + _streamed_ops(p),
            extra={"streamed_bytes": p.streamed_bytes},
        )


def _streamed_ops(p: MemoryPrediction) -> str:
    """Which ops' parameters stream: the largest first, as where to slim the model or cut a segment."""
    streamed = sorted((o for o in p.ops if o.placement == STREAMED), key=lambda o: -o.total_bytes)
    shown = ", ".join(f"op {o.index} {o.opcode} {size(o.total_bytes)}" for o in streamed[:4])
    more = f" and {len(streamed) - 4} more" if len(streamed) > 4 else ""
    return f"streamed: {shown}{more}"
