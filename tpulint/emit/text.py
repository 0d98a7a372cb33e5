"""Human output: a table of every op, the findings with their fixes, and a summary footer.

The text is built here as lines of styled parts and written by one of two back ends:

* :class:`PlainOut` when colour is off (``--no-color``, ``NO_COLOR``, ``PRE_COMMIT=1``, a file, or
  stdout not a terminal, as in CI logs and pre-commit hooks): plain lines, no rich imported
  (importing it is a quarter of a cold ``tpulint check``);
* :class:`RichOut` on a terminal: the same lines, styled by rich.

Lines are never wrapped: the op table is laid out to fit the width (its name column is cut), and a
long finding is one line a terminal wraps and a ``grep`` finds whole.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Protocol, TextIO

from tpulint.report import Finding, ModelReport, OpReport, Report

if TYPE_CHECKING:
    from rich.console import Console

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

# A line is a sequence of parts: plain text, or (text, rich style).
Part = str | tuple[str, str]
Line = list[Part]


class Out(Protocol):
    """Where the text report goes."""

    width: int

    def line(self, *parts: Part) -> None: ...

    def rule(self, title: str = "") -> None: ...


def cell_len(text: str) -> int:
    """Terminal cells ``text`` takes (East Asian wide characters take two)."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def rule_text(title: str, width: int) -> str:
    """A horizontal rule across ``width`` cells with ``title`` in the middle."""
    if not title:
        return "─" * width
    title = f" {title} "
    side = max(width - cell_len(title), 2)
    left = side // 2
    return "─" * left + title + "─" * (side - left)


class PlainOut:
    """Plain text to a file (no colour, no rich)."""

    def __init__(self, file: TextIO, width: int) -> None:
        self.file = file
        self.width = width

    def line(self, *parts: Part) -> None:
        self.file.write("".join(p if isinstance(p, str) else p[0] for p in parts) + "\n")

    def rule(self, title: str = "") -> None:
        self.file.write(rule_text(title, self.width) + "\n")


class RichOut:
    """Styled text on a rich console (a terminal)."""

    def __init__(self, console: Console) -> None:
        from rich.text import Text

        self.console = console
        self.width = console.width
        self._text = Text

    def line(self, *parts: Part) -> None:
        text = self._text(no_wrap=True, overflow="ellipsis")
        for p in parts:
            if isinstance(p, str):
                text.append(p)
            else:
                text.append(p[0], style=p[1])
        self.console.print(text, no_wrap=True, crop=False, soft_wrap=True)

    def rule(self, title: str = "") -> None:
        self.console.rule(self._text(title, style="bold") if title else "")


COLUMNS = ("sg", "#", "op", "v", "name", "where", "status", "codes")
_GAP = "  "  # between columns
_MIN_NAME = 12  # the name column is cut to fit the width, never below this


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


def op_table(ops: list[OpReport], width: int) -> list[Line]:
    """The op table: a header line, then one line per op.

    Columns are as wide as their widest cell; when the lines would not fit ``width``, the name
    column is cut (down to 12 cells). The layout is computed here from the cell strings (one pass
    over the cells: rich's table measured and wrapped every cell, most of a cold ``check``).
    """
    rows = [_op_cells(o) for o in ops]
    widths = [max([cell_len(h)] + [cell_len(r[k]) for r in rows]) for k, h in enumerate(COLUMNS)]
    name_col = COLUMNS.index("name")
    overflow = sum(widths) + len(_GAP) * (len(widths) - 1) - width
    if overflow > 0:
        widths[name_col] = max(_MIN_NAME, cell_len(COLUMNS[name_col]), widths[name_col] - overflow)
    right = {COLUMNS.index("sg"), COLUMNS.index("#"), COLUMNS.index("v")}
    where_col = COLUMNS.index("where")

    def line(cells: tuple[str, ...], style: str = "", where_style: str = "") -> Line:
        end = len(cells)
        while end > 1 and not cells[end - 1]:
            end -= 1  # no trailing blanks
        parts: Line = []
        for k in range(end):
            cell = _cut(cells[k], widths[k]) if k == name_col else cells[k]
            pad = " " * (widths[k] - cell_len(cell))
            last = k == end - 1
            text = pad + cell if k in right else (cell if last else cell + pad)
            cell_style = where_style if k == where_col and where_style else style
            parts.append((text, cell_style) if cell_style else text)
            if not last:
                parts.append(_GAP)
        return parts

    lines = [line(COLUMNS, style="bold")]
    for o, cells in zip(ops, rows, strict=True):
        lines.append(line(cells, where_style="green" if o.placement == "tpu" else "red"))
    return lines


def _mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB"


def render_error(out: Out, m: ModelReport) -> bool:
    """The error line of a model that could not be analysed; False when there is none."""
    if m.ok:
        return False
    err = m.error or {}
    out.line((f"error {err.get('code', '')}: {err.get('message', '')}", "bold red"))
    return True


def render_finding(out: Out, f: Finding) -> None:
    """One finding: code, name, where, message; then what was observed, the compiler's text, the fix."""
    where = f"op {f.op_index} {f.opcode}" if f.op_index is not None else "model"
    if f.op_name:
        where += f" '{f.op_name if len(f.op_name) <= 40 else f.op_name[:37] + '...'}'"
    finding: Line = [(f"{f.code} ", SEV_STYLE.get(f.severity, "")), (f"[{f.name}] ", "dim")]
    finding.append(f"{where}: {f.message}")
    if f.baselined:
        finding.append((" (baselined)", "dim"))
    out.line(*finding)
    out.line((f"    observed: {f.observed}", "dim"))
    if f.compiler_error:
        for piece in ("    compiler: " + f.compiler_error.replace("\n", "\n" + " " * 14)).split("\n"):
            out.line((piece, "dim"))
    if f.fix:
        out.line((f"    fix: {f.fix}", "green"))


# Consecutive findings that differ only in their op (a cut's many TPU501 "after the cut" ops, all
# caused by the same CPU op) are printed as one block from this many on; JSON lists each.
GROUP_AT = 4


def _same(f: Finding) -> tuple[object, ...]:
    return (f.code, f.severity, f.message, f.observed, f.fix, f.status, f.compiler_error, f.baselined)


def _runs(findings: list[Finding]) -> list[list[Finding]]:
    """Findings split into runs of consecutive op findings that say the same thing."""
    runs: list[list[Finding]] = []
    for f in findings:
        if runs and f.op_index is not None and runs[-1][-1].op_index is not None and _same(runs[-1][-1]) == _same(f):
            runs[-1].append(f)
        else:
            runs.append([f])
    return runs


def _op_ranges(indices: list[int]) -> str:
    """``[20, 21, 22, 24]`` -> ``"20-22, 24"``."""
    parts: list[str] = []
    start = prev = indices[0]
    for i in [*indices[1:], -1]:
        if i == prev + 1:
            prev = i
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = i
    return ", ".join(parts)


def render_group(out: Out, run: list[Finding]) -> None:
    """Findings that differ only in their op: one block naming the ops."""
    f = run[0]
    kinds = sorted({g.opcode or "" for g in run})
    head: Line = [(f"{f.code} ", SEV_STYLE.get(f.severity, "")), (f"[{f.name}] ", "dim")]
    head.append(f"{len(run)} ops: {f.message}")
    if f.baselined:
        head.append((" (baselined)", "dim"))
    out.line(*head)
    indices = [g.op_index for g in run if g.op_index is not None]
    out.line((f"    ops: {_op_ranges(indices)} ({', '.join(kinds)})", "dim"))
    out.line((f"    observed: {f.observed}", "dim"))
    if f.fix:
        out.line((f"    fix: {f.fix}", "green"))


def render_model(out: Out, m: ModelReport, *, show_ops: str = "all", show_baselined: bool = False) -> None:
    out.rule(m.path)
    if render_error(out, m):
        return
    mode = "compiled model (actual placement)" if m.compiled else f"compiler {m.compiler}, runtime {m.runtime}"
    out.line((mode, "dim"))
    ops = m.ops if show_ops == "all" else [o for o in m.ops if o.placement == "cpu"]
    if ops and show_ops != "none":
        for parts in op_table(ops, out.width):
            out.line(*parts)
    shown = [f for f in m.findings if show_baselined or not f.baselined]
    hidden = len(m.findings) - len(shown)
    if shown:
        out.line()
    for run in _runs(shown):
        if len(run) < GROUP_AT:
            for f in run:
                render_finding(out, f)
        else:
            render_group(out, run)
    render_summary(out, m)
    if hidden:
        out.line((f"{hidden} baselined finding{'s' if hidden != 1 else ''} hidden (--show-baselined)", "dim"))


def render_summary(out: Out, m: ModelReport) -> None:
    s = m.summary
    out.line()
    if s.outcome == "compile_error":
        out.line(("Compilation would fail: no Edge TPU ops.", "bold red"))
        if s.compiler_error:
            for text in s.compiler_error.split("\n"):
                out.line((text, "red"))
    label = "Edge TPU custom ops" if m.compiled else "Edge TPU subgraphs"
    out.line("Outcome: ", (s.outcome, "bold"), f" · {label}: {s.tpu_subgraphs}")
    out.line("Ops on the Edge TPU: ", (str(s.ops_tpu), "green"), " · on the CPU: ", (str(s.ops_cpu), "red"),
             f" · total {s.ops_total}")  # fmt: skip
    if s.first_cpu_op is not None:
        f = s.first_cpu_op
        out.line(f"First CPU op: #{f.index} {f.opcode} '{f.name}' — {f.reason or f.status or ''}")
    if m.compiled and m.compiled_info:
        from tpulint.emit.compiled_text import compiled_lines

        for text in compiled_lines(m.compiled_info):
            out.line(text)
    if m.quantization:
        q = m.quantization
        out.line(
            f"Quantization: {q['description']} · inputs {', '.join(q['input_types']) or '-'} · "
            f"outputs {', '.join(q['output_types']) or '-'}"
        )
    if not m.compiled and s.macs_total:
        out.line(
            f"MACs on the Edge TPU: {100 * s.macs_tpu_share:.1f}% of {s.macs_total:,}; "
            f"parameters: {100 * s.params_tpu_share:.1f}% of {_mib(s.params_total)}"
        )
    for text in _memory_lines(m):
        out.line(text)


def _memory_lines(m: ModelReport) -> list[str]:
    """Predicted memory lines (as the compiler prints them), segments, co-compilation, latency."""
    lines: list[str] = []
    mem = m.memory
    if mem and (mem["cached_param_bytes"] or mem["streamed_param_bytes"]):
        lines.append(
            f"Memory (predicted): on-chip used {_mib(mem['on_chip_used_bytes'])}, "
            f"remaining {_mib(mem['on_chip_remaining_bytes'])}, off-chip streamed {_mib(mem['off_chip_bytes'])}"
        )
        shared = mem.get("co_compiled")
        if shared:
            lines.append(
                f"Co-compiled ({shared['position'] + 1} of {shared['models']}): "
                f"{_mib(shared['cache_available_bytes'])} of cache left for it, "
                f"on-chip used {_mib(shared['on_chip_used_bytes'])}, "
                f"remaining (all models) {_mib(shared['on_chip_remaining_bytes'])}, "
                f"{_mib(shared['off_chip_bytes'])} streamed"
                + (
                    f" ({_mib(shared['streamed_for_sharing_bytes'])} because of sharing)"
                    if shared["streamed_for_sharing_bytes"]
                    else ""
                )
            )
    for seg in m.segments or []:
        lines.append(
            f"Segment {seg['index']}: ops #{seg['first_op']}-#{seg['last_op']} ({seg['ops']} ops), "
            f"{_mib(seg['param_bytes'])} parameters, "
            + ("fits on chip" if seg["fits_on_chip"] else f"streams {_mib(seg['memory']['off_chip_bytes'])}")
        )
    lat = m.latency_estimate
    if lat:
        lines.append(
            f"Latency (estimate, USB 3): {lat['total_ms']:.2f} ms (TPU {lat['tpu_compute_ms']:.2f}, "
            f"streaming {lat['streaming_ms']:.2f}, I/O {lat['io_ms']:.2f}, CPU {lat['cpu_ms']:.2f}, "
            f"overhead {lat['overhead_ms']:.2f})"
        )
    return lines


def render(report: Report, out: Out, *, show_ops: str = "all", show_baselined: bool = False) -> None:
    for m in report.models:
        render_model(out, m, show_ops=show_ops, show_baselined=show_baselined)
    if len(report.models) > 1:
        ok = [m for m in report.models if m.ok]
        full = sum(1 for m in ok if m.summary.outcome == "full")
        out.rule()
        out.line(
            f"{len(report.models)} models: {full} fully mapped, {len(ok) - full} not fully mapped, "
            f"{len(report.models) - len(ok)} unreadable"
        )
