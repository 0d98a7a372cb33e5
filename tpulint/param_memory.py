"""Predict the Edge TPU compiler's parameter memory: what it caches on chip, what it streams.

The rules were recovered from the ground-truth corpus by matching the compiled packages'
parameter bytes against the input weights; the constants and their evidence are in
``rules/memory.toml`` (``tpulint/_rules/memory.toml`` in a wheel). In short:

* CONV_2D / FULLY_CONNECTED: output channels padded to lanes (4 / 16 / 64), one row of 4 bytes
  per lane for each header item and each group of 4 input slots per tap; DEPTHWISE_CONV_2D: a
  16-byte row per group of 4 channels per header item and per tap; header items are the two
  per-channel requantization rows and a bias row when the bias is not all zeros.
* SOFTMAX (16.0 compilers only), flatten RESHAPEs with ``C % 4 != 0``: lookup / selection tables.
* Constant operands of element-wise ops (ADD, MUL, PRELU, ...) are never cached: always streamed.
* Every block is padded to 64 bytes; the cache holds blocks from the end of the model backwards.

All functions work on tpulint's own model objects (:class:`tpulint.graph.Graph`,
:class:`tpulint.model.Op`) with per-op arithmetic only, so a prediction costs O(ops).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from tpulint.graph import Graph
from tpulint.model import Op, element_count
from tpulint.ruledata import default_compiler, rules_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MIB = 1 << 20
RULES_FILE = "memory.toml"

CACHED = "cached"
STREAMED = "streamed"
NONE = "none"


# --- the rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryRules:
    """The constants of ``rules/memory.toml`` (see that file for the evidence behind each)."""

    block_bytes: int
    bytes_per_lane_row: int
    inputs_per_row: int
    small_max: int
    small_lanes: int
    mid_max: int
    mid_multiple: int
    large_multiple: int
    per_channel_header_rows: int
    per_tensor_header_rows: int
    bias_header_rows: int
    bias_only_if_nonzero: bool
    dw_channels_per_group: int
    dw_bytes_per_group_row: int
    fc_lhs_elementwise_max_k: int
    fc_lhs_lanes_per_row: int
    fc_lhs_extra_bytes: int
    softmax_line_bytes: int
    softmax_tables: int
    softmax_classes_per_line: int
    softmax_extra_line_above: int
    softmax_compilers: frozenset[str]
    reshape_header_rows: int
    reshape_channel_multiple: int
    reshape_row_cap: int
    elementwise_ops: frozenset[str]
    elementwise_per_channel_bytes: int
    elementwise_per_element_bytes: int
    elementwise_scalar_bytes: int
    capacity_bytes: int
    on_chip_line_lanes: int
    fill_from_end: bool
    co_compile_order: str

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> MemoryRules:
        lay, lanes, hdr, dw = raw["layout"], raw["lanes"], raw["header_rows"], raw["depthwise"]
        sm, rs, ew, ca = raw["softmax"], raw["reshape"], raw["elementwise"], raw["cache"]
        lhs = raw["fc_const_lhs"]
        return cls(
            block_bytes=int(lay["block_bytes"]),
            bytes_per_lane_row=int(lay["bytes_per_lane_row"]),
            inputs_per_row=int(lay["inputs_per_row"]),
            small_max=int(lanes["small_max"]),
            small_lanes=int(lanes["small_lanes"]),
            mid_max=int(lanes["mid_max"]),
            mid_multiple=int(lanes["mid_multiple"]),
            large_multiple=int(lanes["large_multiple"]),
            per_channel_header_rows=int(hdr["per_channel"]),
            per_tensor_header_rows=int(hdr["per_tensor"]),
            bias_header_rows=int(hdr["bias"]),
            bias_only_if_nonzero=bool(hdr["bias_only_if_nonzero"]),
            dw_channels_per_group=int(dw["channels_per_group"]),
            dw_bytes_per_group_row=int(dw["bytes_per_group_row"]),
            fc_lhs_elementwise_max_k=int(lhs["elementwise_max_k"]),
            fc_lhs_lanes_per_row=int(lhs["lanes_per_row"]),
            fc_lhs_extra_bytes=int(lhs["extra_bytes"]),
            softmax_line_bytes=int(sm["line_bytes"]),
            softmax_tables=int(sm["tables"]),
            softmax_classes_per_line=int(sm["classes_per_line"]),
            softmax_extra_line_above=int(sm["extra_line_above"]),
            softmax_compilers=frozenset(str(c) for c in sm["compilers"]),
            reshape_header_rows=int(rs["header_rows"]),
            reshape_channel_multiple=int(rs["channel_multiple"]),
            reshape_row_cap=int(rs["row_cap"]),
            elementwise_ops=frozenset(str(o) for o in ew["ops"]),
            elementwise_per_channel_bytes=int(ew["per_channel_bytes"]),
            elementwise_per_element_bytes=int(ew["per_element_bytes"]),
            elementwise_scalar_bytes=int(ew["scalar_bytes"]),
            capacity_bytes=round(float(ca["capacity_mib"]) * MIB),
            on_chip_line_lanes=int(ca["on_chip_line_lanes"]),
            fill_from_end=bool(ca["fill_from_end"]),
            co_compile_order=str(raw.get("co_compile", {}).get("order", "command_line")),
        )


@cache
def memory_rules() -> MemoryRules:
    """``rules/memory.toml``, parsed once per process (found like the other rule files)."""
    with (rules_dir() / RULES_FILE).open("rb") as fh:
        return MemoryRules.from_dict(tomllib.load(fh))


def default_capacity() -> int:
    """Bytes of on-chip memory for caching parameters when none is given (7.69 MiB)."""
    return memory_rules().capacity_bytes


# --- results ---------------------------------------------------------------------------------------


class OpMemory(NamedTuple):
    """The parameter bytes of one op, and where the cache-fill rule put them. A named tuple: as
    immutable as a frozen dataclass, and a fifth of its cost to make (one per op with parameters)."""

    index: int  # type: ignore[assignment]  # the op's index (hides tuple.index, which nothing here uses)
    opcode: str
    cacheable_bytes: int  # goes to the PARAMETER_CACHING executable when it fits
    streamed_bytes: int  # always in the EXECUTION_ONLY executable (element-wise constants)
    on_chip_bytes: int  # footprint in the cache if cached (whole 64-lane lines)
    placement: str = NONE  # "cached" | "streamed" (cacheable bytes that did not fit) | "none"
    note: str = ""

    @property
    def total_bytes(self) -> int:
        return self.cacheable_bytes + self.streamed_bytes


@dataclass(frozen=True)
class MemoryPrediction:
    """Predicted parameter memory of one compiled model (or pipeline segment).

    ``cached_bytes`` / ``streamed_bytes`` are the ``parameters`` sizes of the PARAMETER_CACHING and
    EXECUTION_ONLY executables; ``on_chip_used_bytes``, ``on_chip_remaining_bytes`` and
    ``off_chip_bytes`` are the compiler's three summary lines.
    """

    cached_bytes: int
    streamed_bytes: int
    total_bytes: int
    on_chip_used_bytes: int
    on_chip_remaining_bytes: int
    off_chip_bytes: int
    capacity_bytes: int
    ops: tuple[OpMemory, ...]  # the ops with parameters, in model order

    @property
    def cacheable_on_chip_bytes(self) -> int:
        """On-chip footprint of every cacheable block (what the cache would need to hold all)."""
        return sum(o.on_chip_bytes for o in self.ops)

    @property
    def fits_on_chip(self) -> bool:
        """True when every cacheable block is cached (nothing streams for lack of space; element-wise
        constants stream whatever the space)."""
        return all(o.placement == CACHED for o in self.ops if o.cacheable_bytes)


@dataclass(frozen=True)
class Segment:
    """One pipeline segment of ``edgetpu_compiler -n N``."""

    index: int
    ops: tuple[int, ...]  # op indices of subgraph 0, in model order
    param_bytes: int
    prediction: MemoryPrediction  # the segment compiled on its own Edge TPU
    inputs: tuple[str, ...]  # tensors read from outside the segment (other segments, CPU ops, model inputs)
    outputs: tuple[str, ...]  # tensors produced here and read outside (other ops or model outputs)

    @property
    def first_op(self) -> int:
        return self.ops[0]

    @property
    def last_op(self) -> int:
        return self.ops[-1]

    @property
    def on_chip_bytes(self) -> int:
        return self.prediction.on_chip_used_bytes

    @property
    def fits_on_chip(self) -> bool:
        return self.prediction.fits_on_chip


@dataclass(frozen=True)
class CoCompiled:
    """One model of a co-compilation (``edgetpu_compiler a.tflite b.tflite ...``)."""

    index: int  # position on the command line
    prediction: MemoryPrediction  # with the cache left to it by the models before it
    cache_available_bytes: int  # capacity minus what the earlier models occupy
    streamed_for_sharing_bytes: int  # bytes this model streams only because it shares the cache
    shared_remaining_bytes: int  # cache left when all are placed: every model's "remaining" line


# --- per-op bytes ---------------------------------------------------------------------------------

# An op's parameter bytes as OpMemory's fields, in order: (index, opcode, cacheable_bytes,
# streamed_bytes, on_chip_bytes, placement, note). The per-op code and the cache fill pass these
# plain tuples; :func:`_fill` makes each op's OpMemory once, already placed.
_Cost = tuple[int, str, int, int, int, str, str]


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _pad(x: int, block: int) -> int:
    return -(-x // block) * block


def _lanes(c: int, r: MemoryRules) -> int:
    if c <= r.small_max:
        return r.small_lanes
    if c <= r.mid_max:
        return _pad(c, r.mid_multiple)
    return _pad(c, r.large_multiple)


def _softmax_tables(compiler: str | None, r: MemoryRules) -> bool:
    ver = compiler or default_compiler()
    major_minor = ".".join(ver.split(".")[:2])
    return major_minor in r.softmax_compilers


def _weight_op(graph: Graph, op: Op, r: MemoryRules) -> tuple[int, int, str]:
    """(file bytes, on-chip footprint, note) of a CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED.

    The header rows: the two per-channel requantization rows (or the per-tensor ones), and a bias
    row when the bias is not all zeros (or not constant).
    """
    ins = op.inputs
    if len(ins) < 2 or ins[1] < 0 or not graph.is_constant(ins[1]):
        return 0, 0, "weights not constant (not modelled)"
    tensors = graph.subgraph.tensors
    w = tensors[ins[1]]
    shape = w.shape
    q = w.quantization
    h = r.per_channel_header_rows if q is not None and q.channels > 1 else r.per_tensor_header_rows
    bias = ins[2] if len(ins) > 2 else -1
    # A bias of zeros (all bytes 0; unknown data counts as non-zero) gets no row.
    if bias >= 0 and (
        not r.bias_only_if_nonzero
        or not graph.is_constant(bias)
        or not graph.model.buffer_is_zeros(tensors[bias].buffer)
    ):
        h += r.bias_header_rows
    row = r.bytes_per_lane_row
    line = r.on_chip_line_lanes
    block = r.block_bytes
    opcode = op.opcode
    # The arithmetic inline (-(-a // b): a / b rounded up): this runs for every weight layer.
    if opcode == "DEPTHWISE_CONV_2D":
        if len(shape) != 4:
            return 0, 0, f"unexpected weight rank {len(shape)} (not modelled)"
        c = shape[3]
        rows = h + shape[1] * shape[2]
        g = r.dw_channels_per_group
        stored = -(-c // g) * r.dw_bytes_per_group_row * rows
        return -(-stored // block) * block, -(-c // line) * line * row * rows, ""
    if opcode == "CONV_2D":
        if len(shape) != 4:
            return 0, 0, f"unexpected weight rank {len(shape)} (not modelled)"
        rows = h + shape[1] * shape[2] * -(-shape[3] // r.inputs_per_row)
    else:  # FULLY_CONNECTED, weights [C, in]
        if not shape:
            return 0, 0, "scalar weights (not modelled)"
        rows = h + _cdiv(element_count(shape[1:]), r.inputs_per_row)
    c = shape[0]
    stored = _lanes(c, r) * row * rows
    return -(-stored // block) * block, -(-c // line) * line * row * rows, ""


def _const_lhs_fc(graph: Graph, op: Op, r: MemoryRules) -> _Cost | None:
    """A FULLY_CONNECTED whose first operand is the constant and whose weights are not (constant
    matrix A [R, K] times an activation); None for any other op."""
    ins = op.inputs
    if len(ins) < 2 or ins[0] < 0 or ins[1] < 0 or not graph.is_constant(ins[0]) or graph.is_constant(ins[1]):
        return None
    a = graph.tensor(ins[0])
    k = a.shape[-1] if a.shape else 1
    if k <= r.fc_lhs_elementwise_max_k:
        n = _pad(r.elementwise_per_element_bytes * a.elements, r.block_bytes)
        return (op.index, op.opcode, 0, n, 0, STREAMED, "constant first operand, raw (never cached)")
    rows = a.elements // max(k, 1)
    lanes = r.fc_lhs_lanes_per_row * rows
    row, depth = r.bytes_per_lane_row, _cdiv(k, r.inputs_per_row)
    n = _pad(_lanes(lanes, r) * row * depth, r.block_bytes) + r.fc_lhs_extra_bytes
    on_chip = _pad(lanes, r.on_chip_line_lanes) * row * depth + r.fc_lhs_extra_bytes
    return (op.index, op.opcode, n, 0, on_chip, NONE, "constant first operand, tiled")


def _reshape(graph: Graph, op: Op, r: MemoryRules) -> tuple[int, int, str]:
    if not op.inputs or not op.outputs or op.inputs[0] < 0 or op.outputs[0] < 0 or graph.is_constant(op.inputs[0]):
        return 0, 0, ""
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if x.rank != 4 or y.rank != 2:
        return 0, 0, ""
    hw, c = x.shape[1] * x.shape[2], x.shape[3]
    if hw <= 1 or c % r.reshape_channel_multiple == 0:
        return 0, 0, ""
    rows = r.reshape_header_rows + min(hw * _cdiv(c, r.inputs_per_row), r.reshape_row_cap)
    out = y.shape[1]
    row = r.bytes_per_lane_row
    file_bytes = _pad(_lanes(out, r) * row * rows, r.block_bytes)
    return file_bytes, _pad(out, r.on_chip_line_lanes) * row * rows, "flatten reshape with C % 4 != 0"


def _elementwise(graph: Graph, op: Op, r: MemoryRules) -> int:
    total = 0
    for t in graph.const_inputs(op):
        big = [d for d in t.shape if d > 1]
        if not big:
            total += r.elementwise_scalar_bytes
        elif len(big) == 1 and t.shape[-1] == big[0]:
            total += r.elementwise_per_channel_bytes * big[0]
        else:
            total += r.elementwise_per_element_bytes * t.elements
    return _pad(total, r.block_bytes) if total else 0


_WEIGHT_OPS = frozenset(("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"))


def _op_cost(graph: Graph, op: Op, r: MemoryRules, softmax: bool) -> _Cost | None:
    """The op's parameter bytes (unplaced), or None when it stores none."""
    k = op.opcode
    if k in _WEIGHT_OPS:
        if k == "FULLY_CONNECTED" and (lhs := _const_lhs_fc(graph, op, r)) is not None:
            return lhs
        n, fp, note = _weight_op(graph, op, r)
    elif k == "SOFTMAX":
        if not softmax or not op.inputs or op.inputs[0] < 0:
            return None
        shape = graph.tensor(op.inputs[0]).shape
        c = shape[-1] if shape else 1
        lines = r.softmax_tables * _cdiv(c, r.softmax_classes_per_line) + (1 if c > r.softmax_extra_line_above else 0)
        n = fp = r.softmax_line_bytes * lines
        note = "softmax tables (16.0 compilers)"
    elif k == "RESHAPE":
        n, fp, note = _reshape(graph, op, r)
    elif k in r.elementwise_ops:
        s = _elementwise(graph, op, r)
        if not s:
            return None
        return (op.index, k, 0, s, 0, STREAMED, "element-wise constant (never cached)")
    else:
        return None
    if not n:
        return None
    return (op.index, k, n, 0, fp, NONE, note)


def op_param_bytes(graph: Graph, op: Op, *, compiler: str | None = None) -> tuple[int, int]:
    """``(cacheable, always_streamed)`` parameter bytes the compiler stores for ``op``.

    ``cacheable`` goes to the PARAMETER_CACHING executable when the cache has room (else it is
    streamed too); ``always_streamed`` (constants of element-wise ops) is always in the
    EXECUTION_ONLY executable. ``compiler`` ("16.0", "2.0", ...; default tpulint's default) only
    matters for SOFTMAX, whose tables older compilers do not store.
    """
    r = memory_rules()
    m = _op_cost(graph, op, r, op.opcode == "SOFTMAX" and _softmax_tables(compiler, r))
    if m is None:
        return 0, 0
    return m[2], m[3]


def _costs(graph: Graph, ops: Iterable[int], compiler: str | None) -> list[_Cost]:
    r = memory_rules()
    softmax = _softmax_tables(compiler, r)
    all_ops = graph.subgraph.ops
    out = []
    for i in ops:
        m = _op_cost(graph, all_ops[i], r, softmax)
        if m is not None:
            out.append(m)
    return out


def _cost_of(m: OpMemory) -> _Cost:
    return (m.index, m.opcode, m.cacheable_bytes, m.streamed_bytes, m.on_chip_bytes, m.placement, m.note)


def _fill(costs: Sequence[_Cost], capacity: int) -> MemoryPrediction:
    """Place the cacheable blocks: from the end of the model backwards, each block is cached when
    its on-chip footprint still fits, else streamed. Element-wise constants always stream."""
    from_end = memory_rules().fill_from_end
    placed: list[OpMemory] = []  # in fill order
    used = cached = streamed = 0
    for index, opcode, cacheable, streams, on_chip, placement, note in reversed(costs) if from_end else costs:
        streamed += streams
        if cacheable:
            if used + on_chip <= capacity:
                used += on_chip
                cached += cacheable
                where = CACHED
            else:
                streamed += cacheable
                where = STREAMED
            if where != placement:  # (a cacheable block has no always-streamed bytes)
                placement, streams = where, 0
        placed.append(OpMemory(index, opcode, cacheable, streams, on_chip, placement, note))
    if from_end:
        placed.reverse()
    return MemoryPrediction(
        cached_bytes=cached,
        streamed_bytes=streamed,
        total_bytes=cached + streamed,
        on_chip_used_bytes=used,
        on_chip_remaining_bytes=max(capacity - used, 0),
        off_chip_bytes=streamed,
        capacity_bytes=capacity,
        ops=tuple(placed),
    )


def predict(
    graph: Graph, tpu_ops: Iterable[int], *, capacity: int | None = None, compiler: str | None = None
) -> MemoryPrediction:
    """Predict the parameter memory of the Edge TPU ops ``tpu_ops`` (indices into ``graph``'s ops).

    ``capacity``: bytes of on-chip memory for caching parameters (default 7.69 MiB, the capacity in
    the one 16.0 log of the corpus that prints it). ``compiler``: as for :func:`op_param_bytes`.

    Cache fill: element-wise constants always stream; the other blocks are cached from the end of
    the model backwards while their on-chip footprint fits in ``capacity``, earlier blocks that no
    longer fit stream. The on-chip footprint counts every parameter row as a whole 64-lane
    (256-byte) line, so ``on_chip_used_bytes`` exceeds ``cached_bytes`` for layers whose channel
    count is not a multiple of 64. That line rule rests on ONE log (retinanet_fpn_not_padded:
    3.88 MiB predicted, 3.86 MiB logged, while its cached parameters are 2.99 MiB); the backwards
    fill on one case (srgan_quant_2), which also shows that with several subgraphs and very large
    activations the compiler caches far less than ``capacity`` (not modelled).
    """
    cap = default_capacity() if capacity is None else capacity
    return _fill(_costs(graph, sorted(set(tpu_ops)), compiler), cap)


# --- pipelining (-n N) ------------------------------------------------------------------------------


def _boundary(graph: Graph, ops: Sequence[int]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names of the activation tensors crossing into and out of the op set ``ops``."""
    inside = set(ops)
    produced: dict[int, None] = {}
    ins: dict[int, None] = {}
    all_ops = graph.subgraph.ops
    for i in ops:
        for t in all_ops[i].outputs:
            if t >= 0:
                produced[t] = None
    data_inputs = graph.data_inputs  # the present, non-constant inputs
    for i in ops:
        for tensor in data_inputs(all_ops[i]):
            if tensor.index not in produced:
                ins[tensor.index] = None
    graph_outputs, consumers = graph.graph_outputs, graph.tensor_consumers
    outs = [t for t in produced if t in graph_outputs or not inside.issuperset(consumers(t))]
    tensors = graph.subgraph.tensors
    return tuple(tensors[t].name for t in ins), tuple(tensors[t].name for t in outs)


def _cuts(sizes: Sequence[int], n: int) -> list[int]:
    """Start positions of the ``n`` segments: segment k (1-based) ends with the longest run in model
    order whose running total stays <= k * total / n, each segment keeping at least one op."""
    total = sum(sizes)
    starts = [0]
    acc = 0
    for pos, s in enumerate(sizes):
        k = len(starts)  # the segment being filled (1-based)
        if k < n and pos > starts[-1]:
            must_cut = len(sizes) - pos == n - k  # just enough ops left for one per segment
            if must_cut or (acc + s) * n > k * total:
                starts.append(pos)
        acc += s
    return starts


def segments(
    graph: Graph, tpu_ops: Iterable[int], n: int, *, capacity: int | None = None, compiler: str | None = None
) -> list[Segment]:
    """Split the Edge TPU ops into ``n`` pipeline segments, as ``edgetpu_compiler -n N`` does.

    Ops are taken in model order and balanced by parameter bytes (cacheable + streamed): segment k
    ends with the longest run whose running total stays <= k * total / n, with at least one op per
    segment. Each segment runs on its own Edge TPU with its own cache of ``capacity`` bytes.
    Against Coral's one real split in the corpus (ssd_mobilenet_v1, -n 4: 1.74 / 1.62 / 1.51 /
    2.18 MB, all box-predictor heads in the last segment; tests/test_segments_coral.py), the first
    two cuts are exact and the third comes two extra-layer convs late (1.84 MB for segment 2).
    Raises ValueError when ``n < 1`` or there are fewer than ``n`` ops.
    """
    idx = sorted(set(tpu_ops))
    if n < 1:
        raise ValueError(f"number of segments must be >= 1, got {n}")
    if len(idx) < n:
        raise ValueError(f"cannot split {len(idx)} Edge TPU op(s) into {n} segments")
    cap = default_capacity() if capacity is None else capacity
    costs = {m[0]: m for m in _costs(graph, idx, compiler)}
    sizes = [costs[i][2] + costs[i][3] if i in costs else 0 for i in idx]
    starts = [*_cuts(sizes, n), len(idx)]
    out = []
    for k in range(n):
        ops = idx[starts[k] : starts[k + 1]]
        pred = _fill([costs[i] for i in ops if i in costs], cap)
        ins, outs = _boundary(graph, ops)
        out.append(Segment(k, tuple(ops), pred.total_bytes, pred, ins, outs))
    return out


# Streaming is worth reporting (TPU601) or a confirmation difference when it is this share of the
# parameters or more: the compiler always streams element-wise constants, a few bytes to a few KiB
# in models far below the cache size (corpus: 64 B to 4 KiB), which costs next to nothing.
STREAMING_SHARE = 0.05


def streams_significantly(streamed: int, total: int) -> bool:
    """True when ``streamed`` of ``total`` parameter bytes is STREAMING_SHARE or more."""
    return total > 0 and streamed >= STREAMING_SHARE * total


# --- co-compilation --------------------------------------------------------------------------------


def co_compile(predictions: Sequence[MemoryPrediction], capacity: int | None = None) -> list[CoCompiled]:
    """How models compiled together (``edgetpu_compiler a.tflite b.tflite``) share the cache.

    Each model keeps exactly its own parameter bytes and all share one parameter_caching_token
    (corpus: mobilenet_v1_0.25_128 + mobilenet_v1_0.5_160). The cache is given out in command-line
    order: each model is filled (same rule as :func:`predict`) into what the models before it left,
    and streams what no longer fits. The compiler prints one "remaining" figure for all of them: what
    is left once every model is placed.

    Evidence for the order and the shared "remaining" line: two real logs (edgetpu#518, 15.0: the
    first model on the command line takes the cache, the second caches nothing; edgetpu#458, 16.0),
    see rules/memory.toml; the corpus has no co-compilation that overflows the cache.
    ``capacity`` defaults to 7.69 MiB.
    """
    order = memory_rules().co_compile_order
    if order != "command_line":
        raise ValueError(f"rules/memory.toml: unknown co_compile order {order!r}")
    cap = default_capacity() if capacity is None else capacity
    remaining = cap
    placed: list[tuple[MemoryPrediction, int, int]] = []
    for p in predictions:
        costs = [_cost_of(m) for m in p.ops]
        alone = _fill(costs, cap)
        shared = _fill(costs, remaining)
        placed.append((shared, remaining, max(shared.streamed_bytes - alone.streamed_bytes, 0)))
        remaining = max(remaining - shared.on_chip_used_bytes, 0)
    return [CoCompiled(k, shared, available, extra, remaining) for k, (shared, available, extra) in enumerate(placed)]
