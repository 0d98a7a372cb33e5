"""Where the compiler cuts the graph: placement (tpu/cpu), status and Edge TPU segment per op.

Input: for every op of subgraph 0, whether the per-op rules block it (and with which status).
Output: a :class:`Partition`.

The compiler delegates through TFLite's greedy node-subset partitioner
(``PartitionGraphIntoIndependentNodeSubsets`` in tensorflow/lite/graph_info.cc): walking the ops in
execution order, the first *ready* op (all its inputs available) fixes the kind of the current
subset (Edge TPU or CPU); every ready op of that kind joins it, repeatedly, until none is left; then
the next subset starts. A tensor is available once its producer has been placed; graph inputs and
constants always are.

* Without ``-a`` the **first** Edge TPU subset becomes the single ``edgetpu-custom-op``; every
  other op runs on the CPU, and ops the rules allow get "More than one subgraph is not supported".
* With ``-a`` every Edge TPU subset becomes its own custom op (no minimum size).
* With ``-i`` the named tensors end the Edge TPU part: ops that read them, and everything
  downstream, are not eligible for the Edge TPU.

Evidence (../shared/corpus, 55 cases; see README "Fidelity"): CPU prologues do not cut the model
(float-input QUANTIZE, movenet's CAST), independent branches after the first CPU op are mapped
(yolov8 heads, movenet, deeplab), and the *first* subset wins over the largest (yolov10n: subsets
of 19, 19, …, 157 ops; the compiler kept the first 19). Alternatives score lower on the same cases:
"largest subset" 50/51, "everything after the first CPU op" 38/51, "unsupported ops and their
consumers" 43/51.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from tpulint.graph import Graph

CUT_STATUS = "more_than_one_subgraph"


@dataclass
class Partition:
    placement: dict[int, str] = field(default_factory=dict)  # op -> "tpu" | "cpu"
    status: dict[int, str] = field(default_factory=dict)  # op -> status id
    segment: dict[int, int] = field(default_factory=dict)  # tpu op -> Edge TPU subgraph number
    cause: dict[int, int] = field(default_factory=dict)  # op cut by the partition -> blocking op upstream
    forced: set[int] = field(default_factory=set)  # ops the rules allow but the partition puts on the CPU
    past_intermediate: set[int] = field(default_factory=set)  # ops after a -i tensor
    subsets: list[tuple[bool, list[int]]] = field(default_factory=list)  # greedy subsets (tpu?, ops)

    @property
    def tpu_ops(self) -> list[int]:
        return sorted([i for i, p in self.placement.items() if p == "tpu"])

    @property
    def cpu_ops(self) -> list[int]:
        return sorted([i for i, p in self.placement.items() if p == "cpu"])

    @property
    def segments(self) -> int:
        return len(set(self.segment.values()))


def greedy_subsets(graph: Graph, eligible: dict[int, bool], order: list[int]) -> list[tuple[bool, list[int]]]:
    """TFLite's greedy partition into independent node subsets, in O((ops + edges) log ops).

    Equivalent to repeated passes over the execution order: the membership of each subset is the
    closure of ready ops of its kind, so the order in which ready ops are taken does not matter;
    only the first ready op (in execution order) decides the kind of each new subset.

    Ops are handled by their rank (position in ``order``): the ready lists hold ranks (a heap for
    the kind waiting, a stack for the subset being filled), and the per-op state is a list indexed
    by rank; subsets are mapped back to op indices at the end.
    """
    ops, producer_of = graph.subgraph.ops, graph.producer.get
    n = len(order)
    kinds = [eligible[i] for i in order]
    if n and kinds.count(kinds[0]) == n:
        # One kind (every op maps, or none does): without a cycle the first subset takes every op,
        # as each becomes ready once the producers of its inputs, all earlier in ``order``, are in.
        if graph.file_order_is_topological() and order == list(range(n)):
            return [(kinds[0], list(order))]  # the producers are earlier: the graph checked it
        rank = {i: k for k, i in enumerate(order)}
        if all(rank[p] < k for k, i in enumerate(order) for t in ops[i].inputs if (p := producer_of(t, i)) != i):
            return [(kinds[0], list(order))]
    waiting = [0] * n  # rank -> number of its input tensors not yet available
    readers: dict[int, list[int]] = {}  # produced tensor -> ranks of the ops reading it
    ready: dict[bool, list[int]] = {True: [], False: []}  # ranks of ready ops, per kind
    for k, i in enumerate(order):
        pending = 0  # distinct input tensors produced by another op
        for t in ops[i].inputs:
            if producer_of(t, i) != i:
                waiters = readers.get(t)
                if waiters is None:
                    readers[t] = [k]
                elif waiters[-1] != k:  # not an input this op named already
                    waiters.append(k)
                else:
                    continue
                pending += 1
        if pending:
            waiting[k] = pending
        else:
            ready[kinds[k]].append(k)  # ranks in ascending order: already a heap
    done = [False] * n
    placed = 0
    subsets: list[tuple[bool, list[int]]] = []
    while placed < n:
        tpu, cpu = ready[True], ready[False]
        if tpu or cpu:
            kind = bool(tpu) and (not cpu or tpu[0] < cpu[0])
        else:
            # Malformed graph (a cycle): place the earliest remaining op on its own to make progress.
            k = done.index(False)
            kind = kinds[k]
            heapq.heappush(ready[kind], k)
        # The subset takes every ready op of its kind, in any order (a stack); ops of the other
        # kind that become ready wait in their heap, whose top decides the kind of the next subset.
        members: list[int] = []
        stack, other = ready[kind], ready[not kind]
        while stack:
            k = stack.pop()
            if done[k]:
                continue
            done[k] = True
            members.append(k)
            for t in ops[order[k]].outputs:
                for r in readers.get(t, ()):
                    waiting[r] -= 1
                    if waiting[r] == 0 and not done[r]:
                        if kinds[r] == kind:
                            stack.append(r)
                        else:
                            heapq.heappush(other, r)
        placed += len(members)
        members.sort()
        subsets.append((kind, [order[k] for k in members]))
    return subsets


def simulate(
    graph: Graph,
    blocked: dict[int, str],
    *,
    multiple_subgraphs: bool = False,
    intermediate_tensors: Iterable[str] = (),
) -> Partition:
    """Place every op of ``graph``. ``blocked`` maps op index -> status id of its blocking rule."""
    part = Partition()
    order = graph.execution_order()
    part.past_intermediate = _downstream_of(graph, _tensor_indices(graph, intermediate_tensors), order)
    eligible = dict.fromkeys(order, True)
    for i in (*blocked, *part.past_intermediate):
        if i in eligible:
            eligible[i] = False
    part.subsets = greedy_subsets(graph, eligible, order)
    tpu_subsets = [ops for kind, ops in part.subsets if kind]
    chosen = tpu_subsets if multiple_subgraphs else tpu_subsets[:1]
    placement, status, segment = part.placement, part.status, part.segment
    for seg, ops in enumerate(chosen):
        for i in ops:
            placement[i] = "tpu"
            status[i] = "mapped"
            segment[i] = seg
    nearest: dict[int, int | None] | None = None
    for i in order:
        if i in part.placement:
            continue
        part.placement[i] = "cpu"
        if i in blocked:
            part.status[i] = blocked[i]
            continue
        part.status[i] = CUT_STATUS
        part.forced.add(i)
        if i not in part.past_intermediate:
            if nearest is None:
                nearest = _nearest_blocked_ancestors(graph, blocked, order)
            cause = nearest[i] if i in nearest else _nearest_blocked_ancestor(graph, i, blocked)
            if cause is not None:
                part.cause[i] = cause
    return part


def _nearest_blocked_ancestors(graph: Graph, blocked: dict[int, str], order: list[int]) -> dict[int, int | None]:
    """:func:`_nearest_blocked_ancestor` for every op at once, in O(ops + edges).

    In execution order: an op's nearest blocked ancestors are at distance 1 (its blocked producers)
    or 1 + the distance of an unblocked producer's nearest ones; the breadth-first search returns the
    lowest index among those at the smallest distance, so (distance, lowest index) per op suffices.
    Ops whose producers come later (a cycle in a malformed graph) are left out; the caller falls
    back to the search for them.
    """
    best: dict[int, tuple[int, int] | None] = {}
    out: dict[int, int | None] = {}
    for i in order:
        found: tuple[int, int] | None = None
        complete = True
        for p in graph.producers_of(graph.op(i)):
            if p in blocked:
                cand: tuple[int, int] | None = (1, p)
            elif p in best:
                below = best[p]
                cand = None if below is None else (below[0] + 1, below[1])
            else:
                complete = False
                break
            if cand is not None and (found is None or cand < found):
                found = cand
        if complete:
            best[i] = found
            out[i] = None if found is None else found[1]
    return out


def _nearest_blocked_ancestor(graph: Graph, i: int, blocked: dict[int, str]) -> int | None:
    """The closest upstream op that the rules keep off the Edge TPU (breadth-first)."""
    frontier = graph.producers_of(graph.op(i))
    seen = set(frontier)
    while frontier:
        hits = [p for p in frontier if p in blocked]
        if hits:
            return min(hits)
        nxt: list[int] = []
        for p in frontier:
            for q in graph.producers_of(graph.op(p)):
                if q not in seen:
                    seen.add(q)
                    nxt.append(q)
        frontier = nxt
    return None


def _downstream_of(graph: Graph, tensors: set[int], order: list[int]) -> set[int]:
    if not tensors:
        return set()
    out: set[int] = set()
    live = set(tensors)
    for i in order:
        op = graph.op(i)
        if any(t in live for t in op.inputs):
            out.add(i)
            live.update(t for t in op.outputs if t >= 0)
    return out


def _tensor_indices(graph: Graph, names: Iterable[str]) -> set[int]:
    wanted = {n for n in names if n}
    if not wanted:
        return set()
    return {t.index for t in graph.subgraph.tensors if t.name in wanted}
