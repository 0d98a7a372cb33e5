"""The lines that describe a compiled model's Edge TPU packages (``tpulint inspect`` and the text
report of ``tpulint check`` on a ``*_edgetpu.tflite``), from the ``compiled_info`` block."""

from __future__ import annotations

from typing import Any

from tpulint.units import compiler_size


def size_text(n: int | None) -> str:
    """Bytes the way the compiler prints them (B / KiB / MiB, two decimals)."""
    return "?" if n is None else compiler_size(n)


NAME_MAX = 60  # a fused layer name can run to kilobytes; JSON keeps it whole
LAYERS_MAX = 6  # layers listed per executable side; JSON lists them all


def _layer(layer: dict[str, Any]) -> str:
    shape = "x".join(str(d) for d in layer.get("shape") or [])
    name = str(layer.get("name"))
    if len(name) > NAME_MAX:
        name = name[: NAME_MAX - 3] + "..."
    return f"{name} [{shape}] {(layer.get('data_type') or '').lower()}"


def _layers(layers: list[dict[str, Any]]) -> str:
    text = "; ".join(_layer(x) for x in layers[:LAYERS_MAX])
    if len(layers) > LAYERS_MAX:
        text += f"; ... {len(layers) - LAYERS_MAX} more"
    return text


def compiled_lines(info: dict[str, Any]) -> list[str]:
    """Plain lines: packages, executables and their parameters, boundary layers, CPU ops."""
    lines: list[str] = []
    runtime = info.get("min_runtime_version")
    versions = ", ".join(info.get("compiler_versions") or []) or "unknown"
    chips = ", ".join(info.get("chips") or []) or "unknown"
    lines.append(
        f"Requires Edge TPU runtime ≥ {runtime if runtime is not None else '?'} · "
        f"package compiler version: {versions} · chip: {chips}"
    )
    params = info.get("parameters") or {}
    lines.append(
        f"Parameters: {size_text(params.get('cached_bytes'))} cached on chip, "
        f"{size_text(params.get('streamed_bytes'))} streamed each inference"
    )
    for op in info.get("custom_ops") or []:
        lines.append(f"edgetpu-custom-op at op {op['index']} ({size_text(op['custom_options_bytes'])} of options)")
        for p in op.get("packages") or []:
            lines.append(
                f"  package: min runtime {p.get('min_runtime_version')}, compiler {p.get('compiler_version')!s}"
                + (f", virtual chip {p['virtual_chip_id']}" if p.get("virtual_chip_id") else "")
            )
            for e in p.get("executables") or []:
                kind = e.get("type") or "?"
                where = "cached on chip" if kind == "PARAMETER_CACHING" else "streamed each inference"
                cycles = e.get("estimated_cycles")
                lines.append(
                    f"    {kind}: {size_text(e.get('parameters_bytes'))} parameters ({where})"
                    + (f", {cycles:,} estimated cycles" if cycles else "")
                )
                if e.get("input_layers"):
                    lines.append("      in:  " + _layers(e["input_layers"]))
                if e.get("output_layers"):
                    lines.append("      out: " + _layers(e["output_layers"]))
    cpu = info.get("cpu_ops") or []
    if cpu:
        for position in ("before", "between", "after", "none"):
            group = [c for c in cpu if c.get("position") == position]
            if group:
                ops = ", ".join(f"#{c['index']} {c['opcode']}" for c in group)
                label = "CPU ops (no Edge TPU op)" if position == "none" else f"CPU ops {position} the Edge TPU ops"
                lines.append(f"{label}: {ops}")
    else:
        lines.append("CPU ops: none")
    return lines
