"""A static ESTIMATE of Edge TPU latency for one ``invoke()`` on a USB Accelerator (USB 3.0).

This is arithmetic over the model's shapes, not a measurement. No device or compiler is involved::

    total_ms = tpu_compute_ms + streaming_ms + io_ms + cpu_ms + overhead_ms

* ``tpu_compute_ms``: the sum of :func:`op_cycles` over the Edge TPU ops, divided by the clock.
  The compute model is a 64-lane x 16-deep MAC array (1024 MAC/cycle when full). Output channels
  are padded to a multiple of 64; the reduction is not padded::

      CONV_2D            out_px * ceil(Cout/64) * kh*kw*Cin / 16
      DEPTHWISE_CONV_2D  out_px * ceil(C/64)    * kh*kw     / 16
      FULLY_CONNECTED    rows   * ceil(Cout/64) * K         / 16
      TRANSPOSE_CONV     in_px  * ceil(Cout/64) * kh*kw*Cin / 16
      BATCH_MATMUL       MACs / (64*16)
      RESHAPE, SQUEEZE, EXPAND_DIMS  0
      any other op       (activation elements read * pool window + elements written) / 1024

* ``streaming_ms``: streamed (uncached) parameter bytes / USB rate.
* ``io_ms``: (the activation bytes crossing each Edge TPU segment's boundary + instruction bytes)
  / USB rate.
* ``cpu_ms``: CPU-op MACs / CPU MAC rate + the elements of CPU ops without MACs / CPU element rate.
* ``overhead_ms``: a fixed cost per Edge TPU segment.

The constants are in ``rules/latency.toml``, each marked as evidence, fitted or assumption.
``benchmarks/latency_accuracy.py`` compares the estimate with the compiler's own cycle estimates
and with Coral's published latencies.

Everything is per-op arithmetic over cached graph facts, linear in the model's size.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from typing import TYPE_CHECKING, Any

from tpulint.graph import Graph
from tpulint.model import Op, Tensor, element_count
from tpulint.ruledata import rules_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from tpulint.report import ModelReport

__all__ = [
    "CLOCKS",
    "LatencyConstants",
    "LatencyEstimate",
    "estimate",
    "estimate_for_report",
    "load_constants",
    "op_cycles",
    "op_work",
    "ops_work",
]

CLOCKS = ("max", "reduced")  # libedgetpu1-max / libedgetpu1-std

# Bytes per element of the tensor types that can cross the Edge TPU boundary (1 for anything else).
_ITEMSIZE = {
    "FLOAT32": 4,
    "INT32": 4,
    "UINT32": 4,
    "INT64": 8,
    "UINT64": 8,
    "FLOAT64": 8,
    "COMPLEX64": 8,
    "COMPLEX128": 16,
    "INT16": 2,
    "UINT16": 2,
    "FLOAT16": 2,
}


@dataclass(frozen=True)
class LatencyConstants:
    """The constants of the estimate; :func:`load_constants` reads them from ``rules/latency.toml``."""

    clock_max_hz: float
    clock_reduced_hz: float
    lanes: int
    reduce_width: int
    vector_elements_per_cycle: float
    op_fixed_cycles: float
    free_ops: frozenset[str]
    pool_ops: frozenset[str]
    usb_bytes_per_s: float
    instruction_bytes_per_op: float
    overhead_ms_per_segment: float
    cpu_macs_per_s: float
    cpu_elements_per_s: float

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> LatencyConstants:
        """Build from the parsed TOML tables (``clock``, ``tpu``, ``usb``, ``invoke``, ``cpu``)."""
        clock, tpu, usb, invoke, cpu = (raw[k] for k in ("clock", "tpu", "usb", "invoke", "cpu"))
        c = cls(
            clock_max_hz=float(clock["max_hz"]),
            clock_reduced_hz=float(clock["reduced_hz"]),
            lanes=int(tpu["lanes"]),
            reduce_width=int(tpu["reduce_width"]),
            vector_elements_per_cycle=float(tpu["vector_elements_per_cycle"]),
            op_fixed_cycles=float(tpu["op_fixed_cycles"]),
            free_ops=frozenset(tpu["free_ops"]),
            pool_ops=frozenset(tpu["pool_ops"]),
            usb_bytes_per_s=float(usb["bytes_per_s"]),
            instruction_bytes_per_op=float(usb["instruction_bytes_per_op"]),
            overhead_ms_per_segment=float(invoke["overhead_ms_per_segment"]),
            cpu_macs_per_s=float(cpu["macs_per_s"]),
            cpu_elements_per_s=float(cpu["elements_per_s"]),
        )
        positive = (
            c.clock_max_hz,
            c.clock_reduced_hz,
            c.lanes,
            c.reduce_width,
            c.vector_elements_per_cycle,
            c.usb_bytes_per_s,
            c.cpu_macs_per_s,
            c.cpu_elements_per_s,
        )
        if min(positive) <= 0 or min(c.op_fixed_cycles, c.instruction_bytes_per_op, c.overhead_ms_per_segment) < 0:
            raise ValueError("latency constants: rates and sizes must be > 0 and fixed costs >= 0")
        return c

    def clock_hz(self, clock: str) -> float:
        if clock == "max":
            return self.clock_max_hz
        if clock == "reduced":
            return self.clock_reduced_hz
        raise ValueError(f"unknown clock {clock!r}: expected one of {', '.join(CLOCKS)}")


@cache
def load_constants() -> LatencyConstants:
    """The constants in ``rules/latency.toml`` (``tpulint/_rules`` in a wheel), parsed once per process."""
    with (rules_dir() / "latency.toml").open("rb") as fh:
        return LatencyConstants.from_dict(tomllib.load(fh))


@dataclass(frozen=True)
class LatencyEstimate:
    """One invoke's estimated latency, split into its terms (ms). ``method`` says how it was computed."""

    tpu_compute_ms: float
    streaming_ms: float
    io_ms: float
    cpu_ms: float
    overhead_ms: float
    total_ms: float
    method: str
    clock: str
    clock_hz: float
    tpu_cycles: float
    tpu_macs: int
    cpu_macs: int
    cpu_elements: int
    tpu_ops: int
    cpu_ops: int
    tpu_segments: int
    boundary_input_bytes: int
    boundary_output_bytes: int
    instruction_bytes: int
    instruction_bytes_from_compiled: bool
    streamed_param_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict``, without its deep copies: every field is a number, string or bool."""
        return {name: getattr(self, name) for name in _ESTIMATE_FIELDS}


_ESTIMATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(LatencyEstimate))


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b) if a > 0 else 0


class _Elements(dict[tuple[int, ...], int]):
    """Element counts by shape, ``elements[t.shape]``: a plain dict read, each distinct shape
    counted once on its first miss (:func:`tpulint.model.element_count`, as :attr:`Tensor.elements`)."""

    __slots__ = ()

    def __missing__(self, shape: tuple[int, ...]) -> int:
        n = self[shape] = element_count(shape)
        return n


def op_work(graph: Graph, op: Op, constants: LatencyConstants | None = None) -> tuple[int, float]:
    """``(MACs, Edge TPU cycles)`` of one op, excluding ``op_fixed_cycles``.

    The MACs are the multiply-accumulates of the compute-heavy ops (CONV_2D, DEPTHWISE_CONV_2D,
    FULLY_CONNECTED, TRANSPOSE_CONV, BATCH_MATMUL; 0 for the rest): the report's per-op ``macs``
    come from here, computed from the same weight shapes the cycle formulas read. Cycles too large
    for a float (absurd but valid shapes) are ``inf``.
    """
    return _op_work(graph, op, graph.data_inputs(op), graph.outputs(op), constants or load_constants(), _Elements())


def ops_work(graph: Graph, constants: LatencyConstants | None = None) -> list[tuple[int, float]]:
    """:func:`op_work` of every op of ``graph``, by op index: what the analysis computes once and
    hands to :func:`estimate` (``work=``) after taking the MACs for its report."""
    c = constants or load_constants()
    elements = _Elements()
    return [
        _op_work(graph, op, data_inputs, outs, c, elements)
        for op, (data_inputs, _, _, outs) in zip(graph.subgraph.ops, graph.all_tensor_lists(), strict=True)
    ]


def _cycles(work: int, per_cycle: float) -> float:
    try:
        return work / per_cycle
    except OverflowError:  # more than a float holds: only absurd (mutated) shapes get here
        return math.inf


# The ops whose cost is MACs on the array (when their weights / operands are present).
_MAC_OPS = frozenset(("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL"))


def _op_work(
    graph: Graph,
    op: Op,
    data_inputs: tuple[Tensor, ...],
    outs: tuple[Tensor, ...],
    c: LatencyConstants,
    elements: _Elements,
) -> tuple[int, float]:
    """:func:`op_work` of ``op``, given its data inputs and outputs (:meth:`Graph.tensor_lists`)."""
    opcode = op.opcode
    inputs = op.inputs
    if opcode in _MAC_OPS and outs and len(inputs) > 1 and inputs[1] >= 0:
        lanes, depth = c.lanes, c.reduce_width
        n_out = elements[outs[0].shape]
        shape = graph.subgraph.tensors[inputs[1]].shape
        if opcode == "CONV_2D" and len(shape) == 4:
            cout, kh, kw, cin = shape
            macs = n_out * kh * kw * cin
            out_px = n_out // max(cout, 1)
            return macs, _cycles(out_px * _ceil_div(cout, lanes) * (kh * kw * cin), depth)
        if opcode == "DEPTHWISE_CONV_2D" and len(shape) == 4:
            # One lane per channel; the kh*kw taps of each channel are the reduction.
            _, kh, kw, ch = shape
            macs = n_out * kh * kw
            out_px = n_out // max(ch, 1)
            return macs, _cycles(out_px * _ceil_div(ch, lanes) * (kh * kw), depth)
        if opcode == "FULLY_CONNECTED" and len(shape) == 2:
            cout, k = shape
            macs = n_out * k
            rows = max(n_out // max(cout, 1), 1)
            return macs, _cycles(rows * _ceil_div(cout, lanes) * k, depth)
        if opcode == "TRANSPOSE_CONV" and len(shape) == 4 and len(inputs) > 2 and inputs[2] >= 0:
            cout, kh, kw, cin = shape
            x = graph.tensor(inputs[2])
            macs = elements[x.shape] * cout * kh * kw
            in_px = elements[x.shape] // max(cin, 1)
            return macs, _cycles(in_px * _ceil_div(cout, lanes) * (kh * kw * cin), depth)
        if opcode == "BATCH_MATMUL" and inputs[0] >= 0:
            a = graph.tensor(inputs[0])
            macs = n_out * (a.shape[-1] if a.shape else 1)
            return macs, _cycles(macs, lanes * depth)
    if opcode in c.free_ops:
        return 0, 0.0
    window = 1
    if opcode in c.pool_ops:
        window = max(int(op.options.get("filter_width", 1) or 1) * int(op.options.get("filter_height", 1) or 1), 1)
    read = 0
    for t in data_inputs:
        read += elements[t.shape]
    written = 0
    for t in outs:
        written += elements[t.shape]
    return 0, _cycles(read * window + written, c.vector_elements_per_cycle)


def op_cycles(graph: Graph, op: Op, constants: LatencyConstants | None = None) -> float:
    """Estimated Edge TPU cycles of one op, ``op_fixed_cycles`` included."""
    c = constants or load_constants()
    return c.op_fixed_cycles + op_work(graph, op, c)[1]


def _itemsize(dtype: str) -> int:
    return _ITEMSIZE.get(dtype, 1)


def _boundary_bytes(graph: Graph, seg_of: Mapping[int, int], elements: _Elements) -> tuple[int, int]:
    """Activation bytes (in, out) crossing the boundary of each Edge TPU segment.

    ``seg_of`` maps every TPU op to its segment. A tensor counts as an input of a segment when one
    of its ops reads it and no op of that segment produces it (constants excluded). It counts as an
    output when a segment op produces it and a graph output, a CPU op or another segment reads it.
    Each tensor counts once per segment.
    """
    producer = graph.producer.get
    segment = seg_of.get
    seen_in: set[tuple[int, int]] = set()
    seen_out: set[int] = set()
    bytes_in = bytes_out = 0
    # One pass over the reads: a read whose reader and producer are not in the same segment (a
    # graph input, a CPU op or another segment on either side) crosses a boundary.
    for i, (data_inputs, _, _, _) in enumerate(graph.all_tensor_lists()):
        seg = segment(i)  # None: a CPU op
        for tensor in data_inputs:  # the present, non-constant inputs
            t = tensor.index
            p = producer(t)
            from_seg = segment(p) if p is not None else None
            if from_seg == seg:
                continue
            if seg is not None and (t, seg) not in seen_in:
                seen_in.add((t, seg))
                bytes_in += elements[tensor.shape] * _itemsize(tensor.dtype)
            if from_seg is not None and t not in seen_out:
                seen_out.add(t)
                bytes_out += elements[tensor.shape] * _itemsize(tensor.dtype)
    tensors = graph.subgraph.tensors
    for t in graph.graph_outputs:
        p = producer(t)
        if p is not None and segment(p) is not None and t not in seen_out:
            seen_out.add(t)
            bytes_out += elements[tensors[t].shape] * _itemsize(tensors[t].dtype)
    return bytes_in, bytes_out


def _method(c: LatencyConstants, clock: str, instruction_from_compiled: bool) -> str:
    instr = (
        "the compiled model's instruction bytes"
        if instruction_from_compiled
        else f"{c.instruction_bytes_per_op:g} instruction bytes per Edge TPU op (a rough corpus median)"
    )
    return (
        "ESTIMATE, not a measurement: a static model of one steady-state invoke() on a Coral USB Accelerator "
        "over USB 3.0, computed from tensor shapes only (no device or compiler was used). Edge TPU compute = "
        f"the ops' cycles on a {c.lanes}-lane x {c.reduce_width}-deep MAC array (output channels padded to "
        f"{c.lanes}; ops without MACs stream {c.vector_elements_per_cycle:g} elements per cycle) at the "
        f"assumed {c.clock_hz(clock) / 1e6:g} MHz '{clock}' clock. The cycle model is fitted to the Edge TPU "
        "compiler's own cycle estimates (within about 20% on the corpus). Streaming = uncached parameter bytes "
        f"and I/O = boundary activation bytes plus {instr}, both at an assumed "
        f"{c.usb_bytes_per_s / 1e6:g} MB/s. CPU ops = MACs at {c.cpu_macs_per_s / 1e9:g} GMAC/s (Coral's "
        f"desktop-CPU figures) plus other elements at an assumed {c.cpu_elements_per_s / 1e9:g} G/s. Overhead = "
        f"an assumed {c.overhead_ms_per_segment:g} ms per Edge TPU segment. Expect errors of tens of percent; "
        "the constants and their sources are in rules/latency.toml."
    )


def estimate(
    graph: Graph,
    tpu_ops: Iterable[int],
    *,
    streamed_param_bytes: int = 0,
    instruction_bytes: int | None = None,
    tpu_segments: int = 1,
    segment_of: Mapping[int, int] | None = None,
    clock: str = "max",
    constants: LatencyConstants | None = None,
    work: Sequence[tuple[int, float]] | None = None,
) -> LatencyEstimate:
    """Estimate one invoke's latency when the ops ``tpu_ops`` of ``graph`` run on the Edge TPU.

    Every other op of ``graph`` is costed at the CPU rates.

    * ``streamed_param_bytes``: parameter bytes not cached on chip, sent on every invoke.
    * ``instruction_bytes``: the instruction stream size, if known from a compiled model. Otherwise
      it is ``instruction_bytes_per_op`` per TPU op.
    * ``tpu_segments``: the number of Edge TPU subgraphs (``-a``). Each pays the invoke overhead.
    * ``segment_of``: TPU op -> segment number, as tpulint's partition gives it. When given, the
      boundary I/O is counted per segment and the segment count comes from it. ``tpu_segments``
      must then be left at 1 or agree with it.
    * ``clock``: ``"max"`` (libedgetpu1-max) or ``"reduced"`` (libedgetpu1-std).
    * ``work``: :func:`ops_work` of ``graph`` when the caller has it already (computed otherwise).

    Raises ``ValueError`` for an op index outside the graph, an unknown clock, or a segment count
    that is below 1 or contradicts ``segment_of``; ``OverflowError`` when the model's sizes are
    too large for the sums to be a number (absurd but valid shapes).
    """
    c = constants or load_constants()
    clock_hz = c.clock_hz(clock)
    n_ops = len(graph.subgraph.ops)
    tpu = set()
    for i in tpu_ops:
        if not 0 <= i < n_ops:
            raise ValueError(f"op index {i} is outside the graph (it has {n_ops} ops)")
        tpu.add(i)
    if streamed_param_bytes < 0 or (instruction_bytes is not None and instruction_bytes < 0):
        raise ValueError("byte counts must be >= 0")

    seg_of: dict[int, int]
    if segment_of is not None:
        seg_of = {i: segment_of.get(i, 0) for i in tpu}
        segments = len(set(seg_of.values()))
        if tpu_segments not in (1, segments):
            raise ValueError(f"tpu_segments={tpu_segments} contradicts segment_of ({segments} segments)")
    else:
        seg_of = dict.fromkeys(tpu, 0)
        segments = tpu_segments if tpu else 0
    if tpu and segments < 1:
        raise ValueError("tpu_segments must be >= 1 when ops run on the Edge TPU")

    elements = _Elements()
    if work is None:
        work = ops_work(graph, c)
    elif len(work) != n_ops:
        raise ValueError(f"work has {len(work)} entries but the graph has {n_ops} ops")
    cycles = 0.0
    tpu_macs = cpu_macs = cpu_elements = 0
    for op, (macs, work_cycles) in zip(graph.subgraph.ops, work, strict=True):
        if op.index in tpu:
            cycles += c.op_fixed_cycles + work_cycles
            tpu_macs += macs
        elif macs:
            cpu_macs += macs
        else:
            cpu_elements += sum(elements[t.shape] for t in graph.data_inputs(op))
            cpu_elements += sum(elements[t.shape] for t in graph.outputs(op))

    from_compiled = instruction_bytes is not None
    if not tpu:
        b_in = b_out = instr = 0
    else:
        b_in, b_out = _boundary_bytes(graph, seg_of, elements)
        instr = instruction_bytes if instruction_bytes is not None else round(c.instruction_bytes_per_op * len(tpu))

    tpu_compute_ms = 1e3 * cycles / clock_hz
    streaming_ms = 1e3 * streamed_param_bytes / c.usb_bytes_per_s
    io_ms = 1e3 * (b_in + b_out + instr) / c.usb_bytes_per_s
    cpu_ms = 1e3 * (cpu_macs / c.cpu_macs_per_s + cpu_elements / c.cpu_elements_per_s)
    overhead_ms = c.overhead_ms_per_segment * segments
    total = tpu_compute_ms + streaming_ms + io_ms + cpu_ms + overhead_ms
    if not math.isfinite(total):
        raise OverflowError("the model's sizes are too large for a latency estimate")
    return LatencyEstimate(
        tpu_compute_ms=tpu_compute_ms,
        streaming_ms=streaming_ms,
        io_ms=io_ms,
        cpu_ms=cpu_ms,
        overhead_ms=overhead_ms,
        total_ms=total,
        method=_method(c, clock, from_compiled),
        clock=clock,
        clock_hz=clock_hz,
        tpu_cycles=cycles,
        tpu_macs=tpu_macs,
        cpu_macs=cpu_macs,
        cpu_elements=cpu_elements,
        tpu_ops=len(tpu),
        cpu_ops=n_ops - len(tpu),
        tpu_segments=segments,
        boundary_input_bytes=b_in,
        boundary_output_bytes=b_out,
        instruction_bytes=instr,
        instruction_bytes_from_compiled=from_compiled,
        streamed_param_bytes=streamed_param_bytes,
    )


def estimate_for_report(
    graph: Graph,
    report: ModelReport,
    *,
    instruction_bytes: int | None = None,
    clock: str = "max",
    constants: LatencyConstants | None = None,
    work: Sequence[tuple[int, float]] | None = None,
) -> LatencyEstimate:
    """:func:`estimate` with tpulint's own prediction for the input model: the placement, the
    segments and the off-chip parameter bytes in ``report``. ``graph`` is the report's subgraph 0;
    ``work`` its :func:`ops_work`, if the caller has it.

    Raises ``ValueError`` for a report of a compiled model or a failed analysis.
    """
    if not report.ok:
        raise ValueError(f"no placement to estimate from: {report.error}")
    if report.compiled:
        raise ValueError("the report is of a compiled model; estimate from its input model")
    seg_of = {o.index: o.segment or 0 for o in report.ops if o.subgraph == 0 and o.placement == "tpu"}
    return estimate(
        graph,
        seg_of,
        streamed_param_bytes=report.summary.off_chip_param_bytes,
        instruction_bytes=instruction_bytes,
        segment_of=seg_of,
        clock=clock,
        constants=constants,
        work=work,
    )
