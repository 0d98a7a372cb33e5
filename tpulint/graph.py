"""Derived graph facts for one subgraph, computed once: producers, consumers, constness, order.

:meth:`Graph.build` walks the ops and precomputes the producer and readers of each tensor, the
constness of each tensor, and per op the tensor lists the rules ask for (activations, constants,
outputs): every op meets several rules, each asking for them, and the memory model, the
quantization mode and the latency estimate ask again, so they are made once and read by index.
The producer and reader ops of each op and the execution order are computed on first use and
cached. Tensor lists are returned as the cached tuples themselves; op lists (producers,
consumers, order) as fresh lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tpulint.model import Model, Op, Subgraph, Tensor

# (data inputs, constant inputs, activation outputs, outputs) of one op.
_Split = tuple[tuple[Tensor, ...], tuple[Tensor, ...], tuple[Tensor, ...], tuple[Tensor, ...]]


@dataclass
class Graph:
    model: Model
    subgraph: Subgraph
    producer: dict[int, int] = field(default_factory=dict)  # tensor -> op index
    graph_inputs: frozenset[int] = frozenset()
    graph_outputs: frozenset[int] = frozenset()
    # Caches (filled by build() / on first use).
    _producers: list[tuple[int, ...]] = field(default_factory=list, repr=False)  # op -> producer ops (_links)
    _consumers: list[tuple[int, ...]] = field(default_factory=list, repr=False)  # op -> consumer ops (_links)
    # Per tensor (indexed by tensor; constness filled by build(), labels on first use): a list is a
    # fifth of a dict's size.
    _constant: list[bool] = field(default_factory=list, repr=False)
    _labels: list[str] = field(default_factory=list, repr=False)  # "[1,8,8,3] INT8"
    # Readers of each tensor: the first one, and the others for the few tensors read twice or more
    # (one list per tensor would cost more than the tensors of a large model).
    _first_consumer: dict[int, int] = field(default_factory=dict, repr=False)
    _more_consumers: dict[int, list[int]] = field(default_factory=dict, repr=False)
    # Per op (by op index): data inputs, constant inputs, activation outputs, outputs.
    _data: list[tuple[Tensor, ...]] = field(default_factory=list, repr=False)
    _consts: list[tuple[Tensor, ...]] = field(default_factory=list, repr=False)
    _acts: list[tuple[Tensor, ...]] = field(default_factory=list, repr=False)
    _outs: list[tuple[Tensor, ...]] = field(default_factory=list, repr=False)
    _order: tuple[int, ...] | None = field(default=None, repr=False)
    _topological: bool = field(default=False, repr=False)  # the file order is an execution order
    _by_type: dict[str, tuple[Op, ...]] | None = field(default=None, repr=False)
    _label_of: dict[tuple[tuple[int, ...], str], str] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, model: Model, subgraph: Subgraph) -> Graph:
        g = cls(model=model, subgraph=subgraph)
        producer = g.producer
        first, more = g._first_consumer, g._more_consumers
        ops = subgraph.ops
        for op in ops:
            i = op.index
            for t in op.outputs:
                if t >= 0 and t not in producer:
                    producer[t] = i
            for t in op.inputs:
                if t >= 0:
                    if t not in first:
                        first[t] = i
                    elif t in more:
                        more[t].append(i)
                    else:
                        more[t] = [i]
        g.graph_inputs = graph_inputs = frozenset(subgraph.inputs)
        g.graph_outputs = frozenset(subgraph.outputs)
        tensors = subgraph.tensors
        n = len(tensors)
        # Constness of every tensor at once (Graph._is_constant): data no op produces and that is
        # not a graph input, or a DEQUANTIZE of such data.
        g._constant = constant = [t.data_size > 0 for t in tensors]
        for t in graph_inputs:
            if 0 <= t < n and t not in producer:
                constant[t] = False
        for t, p in producer.items():
            op = ops[p]
            constant[t] = op.opcode == "DEQUANTIZE" and g._dequantizes_constants(op)
        data, consts, acts, outs = g._data, g._consts, g._acts, g._outs
        split = g._split_op
        for op in ops:
            d, c, a, o = split(op)
            data.append(d)
            consts.append(c)
            acts.append(a)
            outs.append(o)
        return g

    def _links(self) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
        """Per op: its producer ops (of its inputs) and its reader ops (of its outputs), distinct,
        first-seen order (-1, no tensor, has neither); made on first use (the partition asks for
        them only when the rules block an op)."""
        if len(self._producers) != len(self.subgraph.ops):
            get_producer, get_first, get_more = self.producer.get, self._first_consumer.get, self._more_consumers.get
            unique = dict.fromkeys
            producers, consumers = self._producers, self._consumers
            producers.clear()
            consumers.clear()
            for op in self.subgraph.ops:
                found = [p for t in op.inputs if (p := get_producer(t)) is not None]
                producers.append(tuple(unique(found)) if len(found) > 1 else tuple(found))
                found = []
                for t in op.outputs:
                    reader = get_first(t)
                    if reader is not None:
                        found.append(reader)
                        if (rest := get_more(t)) is not None:
                            found.extend(rest)
                consumers.append(tuple(unique(found)) if len(found) > 1 else tuple(found))
        return self._producers, self._consumers

    def tensor_consumers(self, t: int) -> tuple[int, ...]:
        """Indices of the ops that read tensor ``t``, in op order (each op once per input naming it)."""
        first = self._first_consumer.get(t)
        if first is None:
            return ()
        more = self._more_consumers.get(t)
        return (first,) if more is None else (first, *more)

    def _own(self, op: Op) -> bool:
        """True when ``op`` is this graph's op at its index (the caches are indexed by op index)."""
        i = op.index
        return 0 <= i < len(self._data) and self.subgraph.ops[i] is op

    def tensor(self, index: int) -> Tensor:
        return self.subgraph.tensors[index]

    def op(self, index: int) -> Op:
        return self.subgraph.ops[index]

    def label(self, t: int) -> str:
        """``"[1,16,16,3] INT8"``: a tensor's shape and type as reports show them, made once per
        distinct shape and type (a 10,000-op report names the same few hundred again and again)."""
        if not self._labels:
            self._label_all()
        return self._labels[t]

    def labels(self, ts: Iterable[int]) -> list[str]:
        """:meth:`label` of each present tensor of ``ts`` (-1, no tensor, is skipped): an op's inputs
        or outputs, as its report row shows them. The first call labels every tensor at once (a
        report asks for the inputs and outputs of every op: nearly every tensor)."""
        if not self._labels:
            self._label_all()
        cache = self._labels
        out: list[str] = []
        for t in ts:  # a loop, not a comprehension: an op has few tensors, and a comprehension's call costs more
            if t >= 0:
                out.append(cache[t])
        return out

    def _label_all(self) -> None:
        label_of = self._label_of
        labels = self._labels
        for tensor in self.subgraph.tensors:
            key = (tensor.shape, tensor.dtype)
            hit = label_of.get(key)
            if hit is None:
                hit = label_of[key] = f"{tensor.shape_str()} {tensor.dtype}"
            labels.append(hit)

    def is_constant(self, t: int) -> bool:
        """A compile-time constant: data no op produces (weights, biases, shape operands), or the
        output of a DEQUANTIZE of such data (float16-quantized models store weights that way)."""
        return self._constant[t]

    def _is_constant(self, t: int) -> bool:
        """:meth:`is_constant` of one tensor, as the rule reads (build() applies it to every tensor
        at once; the tests compare both)."""
        p = self.producer.get(t)
        if p is None:
            return t not in self.graph_inputs and self.tensor(t).is_constant
        op = self.subgraph.ops[p]
        return op.opcode == "DEQUANTIZE" and self._dequantizes_constants(op)

    def _dequantizes_constants(self, op: Op) -> bool:
        """Whether the inputs of ``op`` (a DEQUANTIZE) are data no op produces."""
        return bool(op.inputs) and all(
            i >= 0 and i not in self.producer and self.tensor(i).is_constant for i in op.inputs
        )

    def _split_op(self, op: Op) -> _Split:
        """(data inputs, constant inputs, activation outputs, outputs) of ``op``."""
        tensors, constant = self.subgraph.tensors, self._constant
        data: list[Tensor] = []
        consts: list[Tensor] = []
        for t in op.inputs:
            if t >= 0:
                (consts if constant[t] else data).append(tensors[t])
        outs: list[Tensor] = []
        acts: list[Tensor] = []
        for t in op.outputs:
            if t >= 0:
                outs.append(tensors[t])
                if not constant[t]:
                    acts.append(tensors[t])
        return (tuple(data), tuple(consts), tuple(acts), tuple(outs))

    # The accessors below are called by most rules for every op: they read the lists build() made.
    # An op of another graph (its index names another op here) is split on the spot.

    def tensor_lists(self, op: Op) -> _Split:
        """(data inputs, constant inputs, activation outputs, outputs) of ``op`` at once: what
        the four accessors below give one by one (an op context reads them all)."""
        i = op.index
        if 0 <= i < len(self._data) and self.subgraph.ops[i] is op:
            return (self._data[i], self._consts[i], self._acts[i], self._outs[i])
        return self._split_op(op)

    def all_tensor_lists(self) -> Iterator[_Split]:
        """:meth:`tensor_lists` of every op, in op order."""
        return zip(self._data, self._consts, self._acts, self._outs, strict=True)

    def data_inputs(self, op: Op) -> tuple[Tensor, ...]:
        """The op's non-constant, present inputs (activations)."""
        i = op.index
        return self._data[i] if 0 <= i < len(self._data) and self.subgraph.ops[i] is op else self._split_op(op)[0]

    def const_inputs(self, op: Op) -> tuple[Tensor, ...]:
        i = op.index
        return self._consts[i] if 0 <= i < len(self._consts) and self.subgraph.ops[i] is op else self._split_op(op)[1]

    def outputs(self, op: Op) -> tuple[Tensor, ...]:
        i = op.index
        return self._outs[i] if 0 <= i < len(self._outs) and self.subgraph.ops[i] is op else self._split_op(op)[3]

    def activation_outputs(self, op: Op) -> tuple[Tensor, ...]:
        """Outputs that are activations (not constant-folded weights)."""
        i = op.index
        return self._acts[i] if 0 <= i < len(self._acts) and self.subgraph.ops[i] is op else self._split_op(op)[2]

    def producers_of(self, op: Op) -> list[int]:
        """Indices of ops that produce this op's inputs (deduplicated, in input order)."""
        if self._own(op):
            return list(self._links()[0][op.index])
        return list(_unique(self.producer.get(t) for t in op.inputs if t >= 0))

    def consumers_of(self, op: Op) -> list[int]:
        """Indices of ops that read this op's outputs (deduplicated, in output order)."""
        if self._own(op):
            return list(self._links()[1][op.index])
        return list(_unique(c for t in op.outputs if t >= 0 for c in self.tensor_consumers(t)))

    def ops_of_type(self, opcode: str) -> tuple[Op, ...]:
        """The ops with this opcode, in file order (grouped once, on first use)."""
        if self._by_type is None:
            groups: dict[str, list[Op]] = {}
            for op in self.subgraph.ops:
                groups.setdefault(op.opcode, []).append(op)
            self._by_type = {k: tuple(v) for k, v in groups.items()}
        return self._by_type.get(opcode, ())

    def execution_order(self) -> list[int]:
        """Op indices in a valid execution order (the file order when it is already topological)."""
        if self._order is None:
            self._order = tuple(self._execution_order())
        return list(self._order)

    def file_order_is_topological(self) -> bool:
        """Whether every op comes after the ops that produce its inputs (no op reads a tensor that
        it or a later op writes): the execution order is then the file order."""
        if self._order is None:
            self.execution_order()
        return self._topological

    def _execution_order(self) -> list[int]:
        ops = self.subgraph.ops
        n = len(ops)
        # Topological when no tensor is read by an op at or before the one producing it (the
        # first reader of each tensor is the lowest, as build() records readers in op order).
        first_reader = self._first_consumer.get
        for t, p in self.producer.items():
            if first_reader(t, n) <= p:
                break
        else:
            self._topological = True
            return list(range(n))
        if len(self._data) == n:
            producers, consumers = self._links()
        else:
            producers = [tuple(self.producers_of(op)) for op in ops]
            consumers = [tuple(self.consumers_of(op)) for op in ops]
        # Kahn's algorithm; ops in a cycle are appended in file order so nothing is lost.
        indeg = [len(producers[i]) for i in range(n)]
        ready = [i for i in range(n) if indeg[i] == 0]
        order: list[int] = []
        k = 0
        while k < len(ready):
            i = ready[k]
            k += 1
            order.append(i)
            for c in consumers[i]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    ready.append(c)
        placed = set(order)
        order.extend(i for i in range(n) if i not in placed)
        return order


def _unique(values: Iterable[int | None]) -> tuple[int, ...]:
    """Distinct non-None values in first-seen order."""
    seen: dict[int, None] = {}
    for v in values:
        if v is not None:
            seen[v] = None
    return tuple(seen)
