"""The prediction in the real compiler's own layout, so it can be diffed against a real log.

Layout of ``*_edgetpu.log`` (../shared/research/edgetpu_rules.md §2.3): version, ``Input:`` and
``Output:`` lines, then an ``Operator / Count / Status`` table (operator in a 31-character column,
count in an 11-character column), one row per (op type, status). Before it we print the console
summary lines (§2.2) with tpulint's estimates. Custom ops appear as ``CUSTOM``, as in real logs.
The compiler's row order is not documented (it is neither alphabetical nor by first occurrence);
we print rows grouped by op type in order of first appearance.
"""

from __future__ import annotations

from pathlib import Path

from tpulint.report import ModelReport, Report
from tpulint.ruledata import compilers
from tpulint.units import compiler_size

SUCCESS_PARTIAL = (
    "Model successfully compiled but not all operations are supported by the Edge TPU. A percentage of the "
    "model will instead run on the CPU, which is slower. If possible, consider updating your model to use "
    "only operations supported by the Edge TPU. For details, visit g.co/coral/model-reqs."
)


def table_rows(m: ModelReport) -> list[tuple[str, int, str]]:
    """(operator, count, status) rows of subgraph 0, grouped by op type in order of appearance."""
    counts: dict[tuple[str, str], int] = {}
    for o in m.ops:
        if o.subgraph != 0:
            continue
        key = (o.log_name, o.status or "")
        counts[key] = counts.get(key, 0) + 1
    order: list[str] = []
    for op, _ in counts:
        if op not in order:
            order.append(op)
    return [(op, n, st) for name in order for (op, st), n in counts.items() if op == name]


def _memory_lines(m: ModelReport) -> list[str]:
    """The compiler's three memory lines, from the memory model's prediction (``m.memory``)."""
    mem = m.memory
    if mem is None:  # compiled input: the package's cached and streamed bytes
        used, remaining, off = m.summary.on_chip_param_bytes, None, m.summary.off_chip_param_bytes
    else:  # co-compiled (--co-compile): this model's share, and the one "remaining" all models print
        mem = mem.get("co_compiled") or mem
        used, remaining, off = mem["on_chip_used_bytes"], mem["on_chip_remaining_bytes"], mem["off_chip_bytes"]
    lines = [f"On-chip memory used for caching model parameters: {compiler_size(used)}"]
    if remaining is not None:
        lines.append(f"On-chip memory remaining for caching model parameters: {compiler_size(remaining)}")
    lines.append(f"Off-chip memory used for streaming uncached model parameters: {compiler_size(off)}")
    return lines


def render_model(m: ModelReport) -> str:
    spec = compilers().get(m.compiler)
    version = spec.full_version if spec else m.compiler
    name = Path(m.path).name
    out_name = name[: -len(".tflite")] + "_edgetpu.tflite" if name.endswith(".tflite") else name + "_edgetpu.tflite"
    lines = [f"Edge TPU Compiler version {version}", f"# predicted by tpulint for runtime {m.runtime}"]
    if not m.ok:
        lines.append(f"# tpulint could not read the model: {(m.error or {}).get('message', '')}")
        return "\n".join(lines) + "\n"
    s = m.summary
    if s.outcome == "compile_error":
        lines.append(s.compiler_error or "Compilation failed!")
        return "\n".join(lines) + "\n"
    lines += [
        "",
        f"Input model: {m.path}",
        f"Input size: {compiler_size(m.file_size)}",
        f"Output model: {out_name}",
        *_memory_lines(m),
        f"Number of Edge TPU subgraphs: {s.tpu_subgraphs}",
        f"Total number of operations: {s.ops_total}",
        f"Operation log: {out_name[: -len('.tflite')]}.log",
        "",
    ]
    if s.ops_cpu:
        lines += [
            SUCCESS_PARTIAL,
            f"Number of operations that will run on Edge TPU: {s.ops_tpu}",
            f"Number of operations that will run on CPU: {s.ops_cpu}",
            "",
        ]
    lines += [
        f"Edge TPU Compiler version {version}",
        f"Input: {m.path}",
        f"Output: {out_name}",
        "",
        f"{'Operator':<31}{'Count':<11}Status",
        "",
    ]
    for op, n, st in table_rows(m):
        lines.append(f"{op:<31}{n:<11}{st}".rstrip())
    return "\n".join(lines) + "\n"


def render(report: Report) -> str:
    return "\n".join(render_model(m) for m in report.models)
