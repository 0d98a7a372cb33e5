"""Which TFLite converter setting produced a model: its quantization mode, read from the graph.

Modes (``QuantMode.mode``), from what the converter writes for each setting:

* ``float32`` — no quantization (no ``optimizations``);
* ``float16_weights`` — ``optimizations=[DEFAULT]`` + ``supported_types=[tf.float16]``: FLOAT16
  constants dequantized to float at run time;
* ``dynamic_range`` — ``optimizations=[DEFAULT]`` without a ``representative_dataset``: int8
  weights read by ops that compute in float;
* ``int16x8`` — ``supported_ops=[EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]``:
  int16 activations;
* ``qat_leftovers`` — a quantization-aware-trained model converted without ``optimizations``: its
  fake-quant nodes are left as QUANTIZE→DEQUANTIZE pairs (or FAKE_QUANT ops) around float ops;
* ``mixed`` — full-integer ops and float ops side by side (the converter fell back to float
  kernels for ops it could not quantize, which ``TFLITE_BUILTINS_INT8`` would have refused);
* ``full_integer_float_io`` — full integer inside, float input/output (no
  ``inference_input_type``/``inference_output_type``): QUANTIZE/DEQUANTIZE at the edges;
* ``full_integer_int8_io`` / ``full_integer_uint8_io`` — what the Edge TPU wants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tpulint.graph import Graph
from tpulint.model import Tensor

FLOATS = frozenset({"FLOAT32", "FLOAT16", "FLOAT64", "BFLOAT16"})
EIGHT_BIT = frozenset({"INT8", "UINT8"})
SIXTEEN_BIT = frozenset({"INT16"})
EDGE_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})
FULL_INTEGER = ("full_integer_int8_io", "full_integer_uint8_io", "full_integer_float_io")

DESCRIPTIONS = {
    "float32": "float32 (not quantized)",
    "float16_weights": "float16 weights (float computation)",
    "dynamic_range": "dynamic-range (int8 weights, float activations)",
    "int16x8": "16x8 (int16 activations, int8 weights)",
    "qat_leftovers": "quantization-aware training leftovers (fake-quant pairs around float ops)",
    "mixed": "mixed (integer and float ops)",
    "full_integer_float_io": "full integer, float input/output",
    "full_integer_int8_io": "full integer, int8 input/output",
    "full_integer_uint8_io": "full integer, uint8 input/output",
    "full_integer_mixed_io": "full integer, int8 and uint8 input/output",
    "empty": "no ops",
}


@dataclass
class QuantMode:
    """A model's quantization mode and the evidence for it."""

    mode: str
    input_types: list[str]
    output_types: list[str]
    float_ops: list[int] = field(default_factory=list)  # ops computing in float (CUSTOM ops excluded)
    integer_ops: list[int] = field(default_factory=list)  # ops computing in 8 bits
    int16_ops: list[int] = field(default_factory=list)
    hybrid_ops: list[int] = field(default_factory=list)  # float ops reading int8 constants
    fp16_constants: int = 0
    fake_quant_pairs: int = 0  # QUANTIZE whose only reader is a DEQUANTIZE, or FAKE_QUANT ops
    float_edge_ops: list[int] = field(default_factory=list)  # QUANTIZE from / DEQUANTIZE to a graph edge

    @property
    def description(self) -> str:
        return DESCRIPTIONS.get(self.mode, self.mode)

    @property
    def full_integer(self) -> bool:
        return self.mode.startswith("full_integer")

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "description": self.description,
            "input_types": self.input_types,
            "output_types": self.output_types,
            "float_ops": len(self.float_ops),
            "integer_ops": len(self.integer_ops),
            "int16_ops": len(self.int16_ops),
            "hybrid_ops": len(self.hybrid_ops),
            "fp16_constants": self.fp16_constants,
            "fake_quant_pairs": self.fake_quant_pairs,
        }


def detect(g: Graph) -> QuantMode:
    """The quantization mode of subgraph ``g`` (normally subgraph 0, the one the compiler reads)."""
    tensors = g.subgraph.tensors
    ins = [tensors[t].dtype for t in g.subgraph.inputs if 0 <= t < len(tensors)]
    outs = [tensors[t].dtype for t in g.subgraph.outputs if 0 <= t < len(tensors)]
    q = QuantMode("empty", ins, outs)
    fp16 = [t.index for t in tensors if t.dtype == "FLOAT16"]
    q.fp16_constants = sum(1 for t in fp16 if g.is_constant(t))
    for op, (data_inputs, const_inputs, _, op_outs) in zip(g.subgraph.ops, g.all_tensor_lists(), strict=True):
        code = op.opcode
        if code == "FAKE_QUANT":
            q.fake_quant_pairs += 1
            continue
        if code in EDGE_OPS:
            _edge_op(g, op.index, q)
            continue
        if code == "CUSTOM":
            continue  # post-processing custom ops (SSD, PoseNet) output float by design
        out_kinds = _kinds(op_outs)
        if out_kinds & _FLOAT or _kinds(data_inputs) & _FLOAT:
            q.float_ops.append(op.index)
            if _kinds(const_inputs) & _EIGHT:
                q.hybrid_ops.append(op.index)
        elif out_kinds & _SIXTEEN and any(t.dtype in SIXTEEN_BIT and not t.is_variable for t in op_outs):
            q.int16_ops.append(op.index)
        elif out_kinds & _EIGHT:
            q.integer_ops.append(op.index)
    q.mode = _classify(q)
    return q


# The kinds of type detect() tells apart, as bits: an op's tensors are looked at once each.
_FLOAT, _SIXTEEN, _EIGHT = 1, 2, 4
_KIND: dict[str, int] = {
    **dict.fromkeys(FLOATS, _FLOAT),
    **dict.fromkeys(SIXTEEN_BIT, _SIXTEEN),
    **dict.fromkeys(EIGHT_BIT, _EIGHT),
}


def _kinds(tensors: Iterable[Tensor]) -> int:
    """The kinds (bits) of the types of ``tensors``: float, 16-bit or 8-bit integer."""
    kinds = 0
    for t in tensors:
        kinds |= _KIND.get(t.dtype, 0)
    return kinds


def _edge_op(g: Graph, i: int, q: QuantMode) -> None:
    op = g.subgraph.ops[i]
    ins, outs = g.data_inputs(op), g.outputs(op)
    if op.opcode == "QUANTIZE":
        readers = [g.subgraph.ops[c].opcode for t in op.outputs if t >= 0 for c in g.tensor_consumers(t)]
        if readers and all(r == "DEQUANTIZE" for r in readers):
            q.fake_quant_pairs += 1
        elif any(t.dtype in FLOATS for t in ins) and any(t.index in g.graph_inputs for t in ins):
            q.float_edge_ops.append(i)
    elif any(t.dtype in FLOATS for t in outs) and any(t.index in g.graph_outputs for t in outs):
        q.float_edge_ops.append(i)


def _classify(q: QuantMode) -> str:
    if not (q.float_ops or q.integer_ops or q.int16_ops or q.fake_quant_pairs):
        return "empty" if not q.float_edge_ops else "full_integer_float_io"
    if q.fake_quant_pairs and q.float_ops:
        return "qat_leftovers"
    if q.fp16_constants and q.float_ops:
        return "float16_weights"
    if q.int16_ops and len(q.int16_ops) >= len(q.integer_ops):
        return "int16x8"
    if q.float_ops:
        if q.hybrid_ops and not q.integer_ops:
            return "dynamic_range"
        return "mixed" if q.integer_ops or q.int16_ops else "float32"
    # Index outputs (ARG_MAX's int64, a detector's int32 count) say nothing about the converter's
    # I/O types; only float and 8-bit edges do.
    io = {t for t in (*q.input_types, *q.output_types) if t in FLOATS or t in EIGHT_BIT}
    if io & FLOATS:
        return "full_integer_float_io"
    if io == {"UINT8"}:
        return "full_integer_uint8_io"
    if io == {"INT8"}:
        return "full_integer_int8_io"
    return "full_integer_mixed_io" if io else "full_integer_int8_io"
