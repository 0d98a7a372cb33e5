"""Human output: a rich table of every op, the findings with their fixes, and a summary footer."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from tpulint.report import ModelReport, OpReport, Report

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


COLUMNS = ("sg", "#", "op", "v", "name", "where", "status", "codes")
_GAP = "  "  # between columns
_MIN_NAME = 12  # the name column is cut to fit the console, never below this


def _op_cells(o: OpReport) -> tuple[str, ...]:
    status = SHORT_STATUS.get(o.status or "", o.status or "-")
    return (
        str(o.subgraph), str(o.index), o.opcode, str(o.version), o.name,
        "TPU" if o.placement == "tpu" else "CPU", status, ",".join(o.codes),
    )  # fmt: skip


def _cut(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal cells, ending in '...' when cut."""
    if cell_len(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width - 3:
            break
        out.append(ch)
        used += w
    return "".join(out) + "." * (width - used)


def op_table(ops: list[OpReport], width: int) -> Text:
    """The op table as one styled :class:`~rich.text.Text`, one line per op.

    The layout is computed here from the cell strings (every cell is one line of plain text), so a
    table costs one pass over its cells instead of rich's per-cell measuring and wrapping (for a
    few hundred ops the difference is most of a ``tpulint check``). Columns are as wide as their
    widest cell; when the lines would not fit ``width``, the name column is cut (down to
    12 cells), and whatever still does not fit is cut at the console edge by the caller.
    """
    rows = [_op_cells(o) for o in ops]
    widths = [max([cell_len(h)] + [cell_len(r[k]) for r in rows]) for k, h in enumerate(COLUMNS)]
    name_col = COLUMNS.index("name")
    overflow = sum(widths) + len(_GAP) * (len(widths) - 1) - width
    if overflow > 0:
        widths[name_col] = max(_MIN_NAME, cell_len(COLUMNS[name_col]), widths[name_col] - overflow)
    right = {COLUMNS.index("sg"), COLUMNS.index("#"), COLUMNS.index("v")}
    where_col = COLUMNS.index("where")
    table = Text(no_wrap=True, overflow="ellipsis")

    def line(cells: tuple[str, ...], style: str = "", where_style: str = "") -> None:
        end = len(cells)
        while end > 1 and not cells[end - 1]:
            end -= 1  # no trailing blanks
        for k in range(end):
            cell = _cut(cells[k], widths[k]) if k == name_col else cells[k]
            pad = " " * (widths[k] - cell_len(cell))
            last = k == end - 1
            text = pad + cell if k in right else (cell if last else cell + pad)
            table.append(text, style=where_style if k == where_col and where_style else style)
            if not last:
                table.append(_GAP)
        table.append("\n")

    line(COLUMNS, style="bold")
    for o, cells in zip(ops, rows, strict=True):
        line(cells, where_style="green" if o.placement == "tpu" else "red")
    table.rstrip()
    return table


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
        console.print(op_table(ops, console.width), no_wrap=True, overflow="ellipsis", crop=True)
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
        console.print(
            Text(f"{hidden} baselined finding{'s' if hidden != 1 else ''} hidden (--show-baselined)", style="dim")
        )


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
