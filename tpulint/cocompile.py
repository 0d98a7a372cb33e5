"""``check --co-compile``: how models compiled together (``edgetpu_compiler a.tflite b.tflite``)
share the Edge TPU's parameter cache (:func:`tpulint.param_memory.co_compile`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tpulint.context import Target
from tpulint.graph import Graph
from tpulint.model import load_model
from tpulint.param_memory import MemoryPrediction, co_compile, predict
from tpulint.report import ModelReport


def _prediction(m: ModelReport, target: Target) -> MemoryPrediction:
    model = load_model(Path(m.path))
    try:
        graph = Graph.build(model, model.subgraphs[0])
        tpu = [o.index for o in m.ops if o.subgraph == 0 and o.placement == "tpu"]
        return predict(graph, tpu, compiler=target.compiler)
    finally:
        model.close()


def share_cache(models: Sequence[ModelReport], target: Target) -> None:
    """Add ``memory.co_compiled`` to each analysed model, in command-line order (the order the
    compiler is given them). Compiled and unreadable models take no part."""
    members = [m for m in models if m.ok and not m.compiled and m.memory is not None]
    if len(members) < 2:
        return
    shared = co_compile([_prediction(m, target) for m in members])
    for m, c in zip(members, shared, strict=True):
        assert m.memory is not None
        m.memory["co_compiled"] = {
            "position": c.index,
            "models": len(members),
            "cache_available_bytes": c.cache_available_bytes,
            "on_chip_used_bytes": c.prediction.on_chip_used_bytes,
            "on_chip_remaining_bytes": c.shared_remaining_bytes,
            "off_chip_bytes": c.prediction.off_chip_bytes,
            "streamed_for_sharing_bytes": c.streamed_for_sharing_bytes,
        }
