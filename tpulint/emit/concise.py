"""``--format concise``: one line per finding, then the summary footer (a human format).

``path:sg0:op17 CONV_2D 'name': TPU101 message`` — grep-able and stable, like ruff's concise output.
"""

from __future__ import annotations

from tpulint.report import Finding, ModelReport, Report


def finding_line(path: str, f: Finding) -> str:
    if f.op_index is not None:
        head = f"{path}:sg{f.subgraph or 0}:op{f.op_index} {f.opcode or '?'}"
        if f.op_name:
            head += f" '{f.op_name}'"
    else:
        head = path
    tail = " (baselined)" if f.baselined else ""
    return f"{head}: {f.code} {f.message}{tail}"


def summary_line(m: ModelReport) -> str:
    if not m.ok:
        return f"{m.path}: unreadable ({(m.error or {}).get('code', 'TPU901')})"
    s = m.summary
    line = f"{m.path}: {s.outcome} · Edge TPU {s.ops_tpu}/{s.ops_total} ops · CPU {s.ops_cpu}"
    if s.first_cpu_op is not None:
        line += f" · first CPU op #{s.first_cpu_op.index} {s.first_cpu_op.opcode}"
    return line


def render(report: Report, *, show_baselined: bool = False) -> str:
    lines: list[str] = []
    counts = {"error": 0, "warning": 0, "info": 0}
    hidden = shown_baselined = 0
    for m in report.models:
        if not m.ok:
            err = m.error or {}
            lines.append(f"{m.path}: {err.get('code', 'TPU901')} {err.get('message', 'cannot read the model')}")
            continue
        for f in m.findings:
            if f.baselined and not show_baselined:
                hidden += 1
                continue
            if f.baselined:
                shown_baselined += 1
            else:
                counts[f.severity] = counts.get(f.severity, 0) + 1
            lines.append(finding_line(m.path, f))
    if lines:
        lines.append("")
    lines.extend(summary_line(m) for m in report.models)
    total = sum(counts.values())
    foot = f"Found {total} finding{'s' if total != 1 else ''}"
    if total:
        foot += " (" + ", ".join(f"{n} {k}" for k, n in counts.items() if n) + ")"
    foot += f" in {len(report.models)} model{'s' if len(report.models) != 1 else ''}"
    if hidden:
        foot += f"; {hidden} baselined finding{'s' if hidden != 1 else ''} hidden (--show-baselined)"
    if shown_baselined:
        foot += f"; {shown_baselined} baselined"
    lines.append(foot + ".")
    return "\n".join(lines) + "\n"
