"""Human output: a rich table of every op, the findings with their fixes, and a summary footer."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tpulint.report import ModelReport, Report

SHORT_STATUS = {
    "Mapped to Edge TPU": "mapped",
    "Operation not supported": "not supported",
    "More than one subgraph is not supported": "after cut",
    "Operation is working on an unsupported data type": "data type",
    "Tensor has unsupported rank (up to 3 innermost dimensions mapped)": "rank",
    "Operation version not supported": "op version",
    "Operation is otherwise supported, but not mapped due to some unspecified limitation": "limitation",
}
SEV_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB"


def render_model(console: Console, m: ModelReport, *, show_ops: str = "all", show_baselined: bool = False) -> None:
    console.rule(Text(m.path, style="bold"))
    if not m.ok:
        err = m.error or {}
        console.print(Text(f"error {err.get('code', '')}: {err.get('message', '')}", style="bold red"))
        return
    mode = "compiled model (actual placement)" if m.compiled else f"compiler {m.compiler}, runtime {m.runtime}"
    console.print(Text(mode, style="dim"))
    ops = m.ops if show_ops == "all" else [o for o in m.ops if o.placement == "cpu"]
    if ops and show_ops != "none":
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for col in ("sg", "#", "op", "v", "name", "where", "status", "codes"):
            table.add_column(col, overflow="fold" if col == "name" else "ellipsis", no_wrap=col != "name")
        for o in ops:
            place = Text("TPU", style="green") if o.placement == "tpu" else Text("CPU", style="red")
            status = SHORT_STATUS.get(o.status or "", o.status or "-")
            name = o.name if len(o.name) <= 48 else o.name[:45] + "..."
            table.add_row(
                str(o.subgraph), str(o.index), o.opcode, str(o.version), name, place, status, ",".join(o.codes)
            )
        console.print(table)
    shown = [f for f in m.findings if show_baselined or not f.baselined]
    hidden = len(m.findings) - len(shown)
    if shown:
        console.print()
    for f in shown:
        where = f"op {f.op_index} {f.opcode}" if f.op_index is not None else "model"
        if f.op_name:
            where += f" '{f.op_name if len(f.op_name) <= 40 else f.op_name[:37] + '...'}'"
        line = Text()
        line.append(f"{f.code} ", style=SEV_STYLE.get(f.severity, ""))
        line.append(f"[{f.name}] ", style="dim")
        line.append(f"{where}: {f.message}")
        if f.baselined:
            line.append(" (baselined)", style="dim")
        console.print(line)
        console.print(Text(f"    observed: {f.observed}", style="dim"))
        if f.compiler_error:
            console.print(Text("    compiler: " + f.compiler_error.replace("\n", "\n              "), style="dim"))
        if f.fix:
            console.print(Text(f"    fix: {f.fix}", style="green"))
    render_summary(console, m)
    if hidden:
        console.print(Text(f"{hidden} baselined finding{'s' if hidden != 1 else ''} hidden (--show-baselined)",
                           style="dim"))


def render_summary(console: Console, m: ModelReport) -> None:
    s = m.summary
    console.print()
    if s.outcome == "compile_error":
        console.print(Text("Compilation would fail: no Edge TPU ops.", style="bold red"))
        if s.compiler_error:
            console.print(Text(s.compiler_error, style="red"))
    label = "Edge TPU custom ops" if m.compiled else "Edge TPU subgraphs"
    console.print(f"Outcome: [bold]{s.outcome}[/] · {label}: {s.tpu_subgraphs}")
    console.print(f"Ops on the Edge TPU: [green]{s.ops_tpu}[/] · on the CPU: [red]{s.ops_cpu}[/] · total {s.ops_total}")
    if s.first_cpu_op is not None:
        f = s.first_cpu_op
        console.print(f"First CPU op: #{f.index} {f.opcode} '{f.name}' — {f.reason or f.status or ''}")
    if not m.compiled and s.macs_total:
        console.print(
            f"MACs on the Edge TPU: {100 * s.macs_tpu_share:.1f}% of {s.macs_total:,}; "
            f"parameters: {100 * s.params_tpu_share:.1f}% of {_mib(s.params_total)}"
            + (f" ({_mib(s.off_chip_param_bytes)} streamed off-chip)" if s.off_chip_param_bytes else "")
        )


def render(report: Report, console: Console, *, show_ops: str = "all", show_baselined: bool = False) -> None:
    for m in report.models:
        render_model(console, m, show_ops=show_ops, show_baselined=show_baselined)
    if len(report.models) > 1:
        ok = [m for m in report.models if m.ok]
        full = sum(1 for m in ok if m.summary.outcome == "full")
        console.rule()
        console.print(
            f"{len(report.models)} models: {full} fully mapped, {len(ok) - full} not fully mapped, "
            f"{len(report.models) - len(ok)} unreadable"
        )
