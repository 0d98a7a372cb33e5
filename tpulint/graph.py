"""Derived graph facts for one subgraph, computed once: producers, consumers, constness, order."""

from __future__ import annotations

from dataclasses import dataclass, field

from tpulint.model import Model, Op, Subgraph, Tensor


@dataclass
class Graph:
    model: Model
    subgraph: Subgraph
    producer: dict[int, int] = field(default_factory=dict)  # tensor -> op index
    consumers: dict[int, list[int]] = field(default_factory=dict)  # tensor -> op indices
    graph_inputs: frozenset[int] = frozenset()
    graph_outputs: frozenset[int] = frozenset()

    @classmethod
    def build(cls, model: Model, subgraph: Subgraph) -> Graph:
        g = cls(model=model, subgraph=subgraph)
        for op in subgraph.ops:
            for t in op.outputs:
                if t >= 0:
                    g.producer.setdefault(t, op.index)
            for t in op.inputs:
                if t >= 0:
                    g.consumers.setdefault(t, []).append(op.index)
        g.graph_inputs = frozenset(subgraph.inputs)
        g.graph_outputs = frozenset(subgraph.outputs)
        return g

    def tensor(self, index: int) -> Tensor:
        return self.subgraph.tensors[index]

    def op(self, index: int) -> Op:
        return self.subgraph.ops[index]

    def is_constant(self, t: int) -> bool:
        """A compile-time constant: data no op produces (weights, biases, shape operands), or the
        output of a DEQUANTIZE of such data (float16-quantized models store weights that way)."""
        p = self.producer.get(t)
        if p is None:
            return t not in self.graph_inputs and self.tensor(t).is_constant
        op = self.subgraph.ops[p]
        return (
            op.opcode == "DEQUANTIZE"
            and bool(op.inputs)
            and all(i >= 0 and i not in self.producer and self.tensor(i).is_constant for i in op.inputs)
        )

    def data_inputs(self, op: Op) -> list[Tensor]:
        """The op's non-constant, present inputs (activations)."""
        return [self.tensor(t) for t in op.inputs if t >= 0 and not self.is_constant(t)]

    def const_inputs(self, op: Op) -> list[Tensor]:
        return [self.tensor(t) for t in op.inputs if t >= 0 and self.is_constant(t)]

    def outputs(self, op: Op) -> list[Tensor]:
        return [self.tensor(t) for t in op.outputs if t >= 0]

    def activation_outputs(self, op: Op) -> list[Tensor]:
        """Outputs that are activations (not constant-folded weights)."""
        return [self.tensor(t) for t in op.outputs if t >= 0 and not self.is_constant(t)]

    def producers_of(self, op: Op) -> list[int]:
        """Indices of ops that produce this op's inputs (deduplicated, in input order)."""
        seen: list[int] = []
        for t in op.inputs:
            p = self.producer.get(t) if t >= 0 else None
            if p is not None and p not in seen:
                seen.append(p)
        return seen

    def consumers_of(self, op: Op) -> list[int]:
        seen: list[int] = []
        for t in op.outputs:
            for c in self.consumers.get(t, ()):
                if c not in seen:
                    seen.append(c)
        return seen

    def reads_graph_input(self, op: Op) -> bool:
        return any(t in self.graph_inputs for t in op.inputs)

    def writes_graph_output(self, op: Op) -> bool:
        return any(t in self.graph_outputs for t in op.outputs)

    def execution_order(self) -> list[int]:
        """Op indices in a valid execution order (the file order when it is already topological)."""
        n = len(self.subgraph.ops)
        done: set[int] = set()
        ok = True
        for op in self.subgraph.ops:
            if any(p not in done and p >= op.index for p in self.producers_of(op)):
                ok = False
                break
            done.add(op.index)
        if ok:
            return list(range(n))
        # Kahn's algorithm; ops in a cycle are appended in file order so nothing is lost.
        indeg = {op.index: len(self.producers_of(op)) for op in self.subgraph.ops}
        ready = [i for i in range(n) if indeg[i] == 0]
        order: list[int] = []
        while ready:
            i = ready.pop(0)
            order.append(i)
            for c in self.consumers_of(self.op(i)):
                indeg[c] -= 1
                if indeg[c] == 0:
                    ready.append(c)
        placed = set(order)
        order.extend(i for i in range(n) if i not in placed)
        return order
