"""TPU5xx: findings made by the partition simulator (tpulint/partition.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tpulint.context import ModelContext
from tpulint.graph import Graph
from tpulint.partition import Partition
from tpulint.registry import Violation, rule


@dataclass
class PartitionContext:
    graph: Graph
    partition: Partition
    intermediate_cut: set[int]


@rule("TPU501", "after-cut", scope="partition", status="more_than_one_subgraph")
def check_after_cut(ctx: PartitionContext) -> Iterator[Violation]:
    """An op the Edge TPU supports runs on the CPU because an op upstream of it does.

    ## What it does
    Reports every op that passes all per-op rules but depends (through its inputs) on a CPU op
    that itself comes after Edge TPU ops. It names the blocking op.

    ## Why it matters on the Edge TPU
    Without `-a`, the compiler builds one Edge TPU subgraph. Mapping this op would need a second
    one, so it stays on the CPU with "More than one subgraph is not supported". One unsupported op
    early in a model can push most of the model to the CPU.

    ## Example
    **Bad:** a LEAKY_RELU after the first convolution: every later op runs on the CPU, although
    each is supported on its own.

    ```python
    x = layers.Conv2D(16, 3)(inp)
    x = layers.LeakyReLU()(x)       # TPU101
    x = layers.Conv2D(16, 3)(x)     # TPU501: after the cut
    ```

    **Good:** fix the first CPU op and the rest of the chain maps again.

    ```python
    x = layers.Conv2D(16, 3, activation="relu")(inp)
    x = layers.Conv2D(16, 3)(x)
    ```

    ## How to fix
    Fix the blocking op named in the finding. Otherwise compile with `-a` (several Edge TPU
    subgraphs, more CPU↔TPU transfers) or end the Edge TPU part before it with `-i`.

    ## Compiler status
    More than one subgraph is not supported

    ## Sources
    edgetpu#461 and edgetpu#30 (maintainers), edgetpu#342, edgetpu#60; corpus cases with a cut.
    """
    g = ctx.graph
    for i in sorted(ctx.partition.forced):
        if i in ctx.intermediate_cut:
            continue
        cause = ctx.partition.cause.get(i)
        if cause is None:
            observed = "outside the Edge TPU subgraph the compiler keeps (the first one)"
        else:
            observed = f"depends on op {cause} {g.op(cause).type_name} which runs on the CPU"
        yield Violation(observed=observed, op_index=i, subgraph=g.subgraph.index)


@rule("TPU503", "after-intermediate-tensor", scope="partition", severity="info", status="more_than_one_subgraph")
def check_after_intermediate(ctx: PartitionContext) -> Iterator[Violation]:
    """An op runs on the CPU because it reads a tensor named with `-i` / `--intermediate-tensors`.

    ## What it does
    Reports the ops past the end of the Edge TPU subgraph that the user chose with `-i`.

    ## Why it matters on the Edge TPU
    `-i` makes the named tensors the outputs of the Edge TPU custom op; what reads them runs on the
    CPU. This is usually intended (e.g. the box decoding of EfficientDet-Lite).

    ## Example
    **Bad:** naming tensors early in the graph with `-i`, so ops after them that the Edge TPU
    supports run on the CPU.

    ```sh
    edgetpu_compiler -i class_net/Reshape,box_net/Reshape model.tflite
    ```

    **Good:** name the tensors where the Edge TPU part should really end (for example just before
    the post-processing), or none.

    ```sh
    edgetpu_compiler -i class_net/concat,box_net/concat model.tflite
    ```

    ## How to fix
    Name later tensors if more of the model should run on the Edge TPU.

    ## Compiler status
    More than one subgraph is not supported

    ## Sources
    coral.ai/docs/edgetpu/compiler (`-i`); edgetpu#490, edgetpu#601.
    """
    g = ctx.graph
    for i in sorted(ctx.intermediate_cut):
        yield Violation(observed="reads a tensor past the -i cut", op_index=i, subgraph=g.subgraph.index)


@rule("TPU502", "multiple-tflite-subgraphs", scope="model", severity="warning", status=None, blocks=False)
def check_multiple_subgraphs(ctx: ModelContext) -> Iterator[Violation]:
    """The model has more than one TFLite subgraph (control flow: WHILE, IF, CALL_ONCE).

    ## What it does
    Counts the model's subgraphs. Ops outside subgraph 0 are reported as running on the CPU.

    ## Why it matters on the Edge TPU
    The compiler partitions the main subgraph only; control-flow bodies are not mapped.

    ## Example
    **Bad:** a `tf.while_loop` (or `tf.cond`) exported as WHILE/IF with extra subgraphs.

    ```python
    y = tf.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, f(x)), [0, x])[1]
    ```

    **Good:** the loop unrolled in Python before conversion.

    ```python
    for _ in range(3):
        x = f(x)
    ```

    ## How to fix
    Unroll loops / remove conditionals before conversion.

    ## Compiler status
    More than one subgraph is not supported (for ops in other subgraphs; inference)

    ## Sources
    ../shared/research/edgetpu_rules.md §3.6 and §7 (no direct evidence; marked uncertain).
    """
    if len(ctx.model.subgraphs) > 1:
        extra = sum(len(sg.ops) for sg in ctx.model.subgraphs[1:])
        yield Violation(observed=f"{len(ctx.model.subgraphs)} subgraphs ({extra} ops outside subgraph 0)")
