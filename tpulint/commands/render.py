"""Plain-text rendering of a confirmation run: what the compiler said, and predicted vs compiled
vs measured side by side. Returns lines; the caller prints them."""

from __future__ import annotations

from typing import Any

from tpulint import units
from tpulint.confirm import Confirmation
from tpulint.report import ModelReport


def size(n: int | None) -> str:
    """Bytes in the compiler's units (B, KiB, MiB)."""
    return "-" if n is None else units.size(n)


def _first(op: dict[str, Any] | None) -> str:
    return f"#{op['index']} {op['opcode']}" if op else "none"


def _ops(total: int | None, n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n} of {total}" if total is not None else str(n)


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.ljust(widths[i]) for i, c in enumerate(r)]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def compiler_lines(c: Confirmation) -> list[str]:
    """The compiler's own result: version, exit, outcome, sizes, memory, operator table, files."""
    info = c.settings.compiler
    lines = [f"edgetpu_compiler {info.version} ({info.path})"]
    run = c.run
    if run is None:
        if c.error is not None:
            lines.append(f"  not run: {c.error.code} {c.error}")
        return lines
    exit_text = "killed (timeout)" if run.exit_code is None else f"exit {run.exit_code}"
    lines[0] += f", {exit_text} after {run.duration_s:.2f} s"
    lines.append("  command: " + " ".join(run.command))
    o = run.output
    if c.refused or (c.error is not None and not o.success):
        kind = f" [{o.error_kind}]" if o.error_kind else ""
        lines.append(f"result: compilation FAILED{kind}")
        lines += [f"  {t}" for t in o.error_text] or [f"  {c.error}"]
        return lines
    if c.error is not None:
        lines.append(f"result: {c.error.code} {c.error}")
        return lines
    a = c.actual
    if a is not None:
        subgraphs = "-" if a.tpu_subgraphs is None else str(a.tpu_subgraphs)
        lines.append(
            f"result: compiled successfully ({a.outcome}): {_ops(a.ops_total, a.ops_tpu)} ops on the Edge TPU, "
            f"{subgraphs} Edge TPU subgraph(s)"
        )
    facts = []
    if o.input_size is not None or o.output_size is not None:
        facts.append(f"input {size(o.input_size)}, output {size(o.output_size)}")
    if o.compile_ms is not None:
        facts.append(f"compiled in {o.compile_ms} ms")
    if facts:
        lines.append("  sizes: " + "; ".join(facts))
    memory = []
    if o.on_chip_available is not None:
        memory.append(f"on-chip available {size(o.on_chip_available)}")
    if o.on_chip_used is not None:
        memory.append(f"on-chip used {size(o.on_chip_used)}")
    if o.on_chip_remaining is not None:
        memory.append(f"on-chip remaining {size(o.on_chip_remaining)}")
    if o.off_chip_used is not None:
        memory.append(f"off-chip used {size(o.off_chip_used)}")
    lines.append("  memory: " + (", ".join(memory) if memory else "not printed by this compiler run"))
    if o.delegate_search:
        tries = ", ".join(
            f"{t.segment_ops} ops {'ok' if t.succeeded else 'failed' if t.succeeded is False else '?'}"
            for t in o.delegate_search
        )
        lines.append(f"  delegate search (-d): {tries}")
    if o.operator_table:
        lines.append("  operators:")
        rows = [["Operator", "Count", "Status"]] + [[r.operator, str(r.count), r.status] for r in o.operator_table]
        lines += _table(rows, indent="    ")
    for cm in run.compiled:
        cpu = ", ".join(f"#{x.index} {x.op} '{x.outputs[0] if x.outputs else ''}'" for x in cm.cpu_ops) or "none"
        lines.append(f"  compiled model: {cm.path}: {cm.edgetpu_custom_op_count} edgetpu-custom-op; CPU ops: {cpu}")
    for log in run.log_paths:
        lines.append(f"  log: {log}")
    return lines


def side_by_side(m: ModelReport, c: Confirmation) -> list[str]:
    """Predicted vs compiled (vs measured, with --bench) for one model."""
    block = m.confirmation or {}
    p = block.get("predicted") or {}
    a = block.get("actual") or {}
    run = block.get("run") or {}
    bench = c.bench or {}
    result = bench.get("result") if bench.get("status") == "measured" else None
    header = [
        "",
        f"predicted (compiler {p.get('compiler')}, runtime {p.get('runtime')})",
        f"compiled ({c.settings.compiler.version})",
    ]
    if bench:
        header.append("measured" + (f" ({result.get('device') or 'Edge TPU'})" if result else ""))
    rows = [header]

    def row(label: str, pred: str, comp: str, meas: str = "-") -> None:
        rows.append([label, pred, comp, meas] if bench else [label, pred, comp])

    row("outcome", str(p.get("outcome")), str(a.get("outcome") or "-"))
    row("ops on the Edge TPU", _ops(p.get("ops_total"), p.get("ops_tpu")), _ops(a.get("ops_total"), a.get("ops_tpu")))
    row("ops on the CPU", str(p.get("ops_cpu")), "-" if a.get("ops_cpu") is None else str(a.get("ops_cpu")))
    row(
        "Edge TPU subgraphs",
        str(p.get("tpu_subgraphs")),
        "-" if a.get("tpu_subgraphs") is None else str(a.get("tpu_subgraphs")),
    )
    known = a.get("cpu_op_indices") is not None  # the compiled model was read
    row("first CPU op", _first(p.get("first_cpu_op")), _first(a.get("first_cpu_op")) if known else "-")
    row("package runtime", str(p.get("package_runtime")), _opt(a.get("min_runtime_version")))
    row(
        "parameters on chip",
        size(p.get("on_chip_param_bytes")),
        _param(a.get("cached_param_bytes"), run, "on_chip_memory_used"),
    )
    row(
        "parameters off chip",
        size(p.get("off_chip_param_bytes")),
        _param(a.get("streamed_param_bytes"), run, "off_chip_memory_used"),
    )
    if bench:
        if result:
            row("first inference", "-", "-", f"{result['first_invoke_ms']:.3f} ms")
            row(
                "latency mean/p50/p99",
                "-",
                "-",
                f"{result['mean_ms']:.3f} / {result['p50_ms']:.3f} / {result['p99_ms']:.3f} ms",
            )
            row("inferences/s", "-", "-", f"{result['inferences_per_second']:.1f}")
        else:
            row("latency", "-", "-", "not measured")
    return _table(rows)


def _opt(value: Any) -> str:
    return "-" if value is None else str(value)


def _param(package_bytes: int | None, run: dict[str, Any], log_key: str) -> str:
    """The compiled package's parameter bytes, and what the compiler printed for it (if it did)."""
    printed = run.get(log_key)
    if package_bytes is None:
        return size(printed)
    return size(package_bytes) + (f" (log: {size(printed)})" if printed is not None else "")


def verdict_lines(c: Confirmation) -> list[str]:
    lines = []
    if c.note:
        lines.append(f"note: {c.note}")
    if c.status == "match":
        lines.append("confirmation: the real compiler agrees with the prediction")
    elif c.status == "mismatch":
        n = len(c.disagreements)
        lines.append(f"confirmation: MISMATCH, {n} difference{'s' if n != 1 else ''} with the prediction (TPU950):")
        lines += [f"  - {d.message}" for d in c.disagreements]
    elif c.status == "error":
        lines.append(f"confirmation: not done: {c.error.code if c.error else ''} {c.error or ''}".rstrip())
    else:
        lines.append("confirmation: skipped")
    bench = c.bench
    if bench and bench.get("status") != "measured":
        lines.append(f"bench: {bench.get('message')}")
    return lines


def outputs_line(c: Confirmation, hint: str = "choose with --out-dir") -> str | None:
    if c.run is None or not (c.run.compiled_paths or c.run.log_paths):
        return None
    where = c.output_dir or (c.run.compiled_paths[0].parent if c.run.compiled_paths else None)
    if c.output_dir_temporary:
        return f"outputs: {where} (a temporary directory; {hint})"
    return f"outputs: {where}"
