"""What a check sees: the target (runtime, compiler, partition flags) and the op in its graph."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from tpulint.graph import Graph
from tpulint.model import Model, Op, Tensor
from tpulint.ruledata import CompilerSpec, OpSpec, compilers, default_compiler, int8_min_runtime, op_table

if TYPE_CHECKING:
    from tpulint.quantmode import QuantMode

COMPILER_VERSIONS = ("16.0", "15.0", "14.1", "2.1", "2.0", "1.0")


@dataclass(frozen=True)
class Target:
    """What the prediction is for: compiler version, `-m` runtime and partition options."""

    compiler: str = "16.0"
    runtime: int | None = None  # None: the compiler's default
    multiple_subgraphs: bool = False  # -a
    intermediate_tensors: tuple[str, ...] = ()  # -i
    search_delegate: bool = False  # -d
    delegate_search_step: int = 1  # -k
    num_segments: int = 1  # -n: pipeline over N Edge TPUs

    # The derived values below are read by the rules once per op: each is computed on first use and
    # kept on this (immutable) target, so an analysis looks them up once (cached_property writes the
    # instance dict directly, which a frozen dataclass allows; fields, equality and hash are unchanged).

    @cached_property
    def spec(self) -> CompilerSpec:
        return compilers()[self.compiler]

    @cached_property
    def effective_runtime(self) -> int:
        return self.runtime if self.runtime is not None else self.spec.default_runtime

    @cached_property
    def eight_bit_types(self) -> tuple[str, ...]:
        """The 8-bit activation types this target maps: the compiler's (uint8 only for 1.0), without
        int8 when the runtime is older than the first that takes int8 data (12)."""
        types = self.spec.eight_bit_types
        if self.effective_runtime < int8_min_runtime():
            return tuple(t for t in types if t != "INT8")
        return types

    @property
    def package_runtime(self) -> int:
        """The ``min_runtime_version`` the compiler writes into its package: the ``-m`` given, or
        the compiler's own default stamp (rules/compilers.toml ``package_runtime``)."""
        return self.runtime if self.runtime is not None else self.spec.package_runtime

    @classmethod
    def default(cls) -> Target:
        return cls(compiler=default_compiler())

    @classmethod
    def checked(
        cls,
        compiler: str,
        runtime: int | None,
        *,
        names: tuple[str, str] = ("compiler version", "runtime"),
        **options: Any,
    ) -> Target:
        """A target for a known compiler version and a runtime it accepts; ``ValueError`` naming
        them as ``names`` (the CLI says ``--compiler-version`` and ``--runtime``) otherwise."""
        if compiler not in COMPILER_VERSIONS:
            raise ValueError(f"unknown {names[0]} {compiler!r} (known: {', '.join(COMPILER_VERSIONS)})")
        spec = compilers()[compiler]
        if runtime is not None and not spec.min_runtime <= runtime <= spec.default_runtime:
            raise ValueError(
                f"{names[1]} {runtime} is not supported by compiler {compiler} "
                f"(it accepts {spec.min_runtime}-{spec.default_runtime})"
            )
        return cls(compiler=compiler, runtime=runtime, **options)


@dataclass(slots=True)
class OpContext:
    """One op as the per-op rules see it. Most rules read the op's tensor lists and the target
    runtime, so they are looked up once here, when the context is made, not once per rule."""

    graph: Graph
    op: Op
    target: Target
    spec: OpSpec | None = field(default=None)
    runtime: int = field(init=False)  # the target's effective runtime
    _data: tuple[Tensor, ...] = field(init=False, repr=False, compare=False)
    _consts: tuple[Tensor, ...] = field(init=False, repr=False, compare=False)
    _acts: tuple[Tensor, ...] = field(init=False, repr=False, compare=False)
    _outs: tuple[Tensor, ...] = field(init=False, repr=False, compare=False)
    # The data inputs, then the activation outputs: the tensors the shape rules look at.
    activations: tuple[Tensor, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.runtime = self.target.effective_runtime
        self._data, self._consts, self._acts, self._outs = self.graph.tensor_lists(self.op)
        self.activations = self._data + self._acts

    @classmethod
    def make(cls, graph: Graph, op: Op, target: Target) -> OpContext:
        return cls(graph, op, target, op_table().get(op.opcode))

    @classmethod
    def for_ops(cls, graph: Graph, target: Target) -> Iterator[OpContext]:
        """:meth:`make` of every op of ``graph``, in op order: the same contexts, with the op table
        and the runtime looked up once and the slots set directly (this runs once per op)."""
        table = op_table()
        runtime = target.effective_runtime
        new = cls.__new__
        for op, (data, consts, acts, outs) in zip(graph.subgraph.ops, graph.all_tensor_lists(), strict=True):
            ctx = new(cls)
            ctx.graph, ctx.op, ctx.target, ctx.spec, ctx.runtime = graph, op, target, table.get(op.opcode), runtime
            ctx._data, ctx._consts, ctx._acts, ctx._outs = data, consts, acts, outs
            ctx.activations = data + acts
            yield ctx

    def data_inputs(self) -> tuple[Tensor, ...]:
        """The op's non-constant, present inputs (:meth:`Graph.data_inputs`)."""
        return self._data

    def activation_outputs(self) -> tuple[Tensor, ...]:
        """The op's outputs that are activations (:meth:`Graph.activation_outputs`)."""
        return self._acts

    def const_inputs(self) -> tuple[Tensor, ...]:
        """The op's constant, present inputs (:meth:`Graph.const_inputs`)."""
        return self._consts

    def outputs(self) -> tuple[Tensor, ...]:
        return self._outs

    def input(self, i: int) -> Tensor | None:
        if i < len(self.op.inputs) and self.op.inputs[i] >= 0:
            return self.graph.tensor(self.op.inputs[i])
        return None

    def const_ints(self, i: int) -> tuple[int, ...] | None:
        """Values of constant int32/int64 input ``i`` (axes, paddings, shapes), or None."""
        t = self.input(i)
        if t is None or not self.graph.is_constant(t.index):
            return None
        view = self.graph.model.tensor_data(t)
        if view is None:
            return None
        import struct

        if t.dtype == "INT32" and len(view) % 4 == 0:
            return struct.unpack(f"<{len(view) // 4}i", view)
        if t.dtype == "INT64" and len(view) % 8 == 0:
            return struct.unpack(f"<{len(view) // 8}q", view)
        return None


@dataclass
class ModelContext:
    model: Model
    target: Target
    graphs: list[Graph]
    _quant_mode: QuantMode | None = field(default=None, repr=False)

    def quant_mode(self) -> QuantMode:
        """The quantization mode of subgraph 0 (what the converter did), computed once."""
        if self._quant_mode is None:
            from tpulint.quantmode import detect

            self._quant_mode = detect(self.graphs[0])
        return self._quant_mode
