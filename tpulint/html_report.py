"""``tpulint report MODEL -o report.html``: one self-contained HTML page (no network).

The page shows the op graph of subgraph 0 as an inline SVG, each op coloured by its predicted
placement (Edge TPU green, CPU red), the cut marked (edges that cross between the Edge TPU and the
CPU are drawn red and dashed, with the first CPU op outlined), the summary, and the per-op table
with statuses, rule codes, reasons and fixes. The layout is a simple layered DAG computed here:
an op's layer is one more than its deepest producer's, and ops within a layer are ordered by the
mean position of their producers (one barycentre pass), which keeps typical CNNs readable.

Everything (CSS, the small script that links graph and table, the SVG) is inline; the page makes
no request when opened. ``render_html`` is a pure function of a :class:`ModelReport` and the edge
list, so it is testable without a browser; ``tests/test_html_report.py`` also renders it in
headless Chromium.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from html import escape
from pathlib import Path

from tpulint.emit._common import findings_by_op
from tpulint.report import Finding, ModelReport, OpReport

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 210, 46, 30, 44, 24
COLORS = {
    "tpu": ("#c8e6c9", "#2e7d32"),  # fill, stroke
    "cpu": ("#ffcdd2", "#c62828"),
}
CUT_COLOR = "#d50000"

CSS = """
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #212121; }
body { margin: 0; padding: 16px 24px; background: #fafafa; }
h1 { font-size: 20px; margin: 0 0 4px 0; word-break: break-all; }
.sub { color: #616161; margin-bottom: 12px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 8px 0 16px 0; }
.card { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px 14px; }
.card b { display: block; font-size: 20px; }
.tpu b { color: #2e7d32; } .cpu b { color: #c62828; }
.legend span { display: inline-block; margin-right: 16px; }
.sw { display: inline-block; width: 14px; height: 14px; vertical-align: -2px; margin-right: 4px;
      border: 2px solid; border-radius: 3px; }
#graph { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; overflow: auto; max-height: 640px; }
svg text { font-size: 12px; pointer-events: none; }
.op-node rect { stroke-width: 2; }
.op-node.first-cpu rect { stroke-width: 4; }
.op-node:hover rect, .op-node.sel rect { stroke: #1565c0; stroke-width: 4; }
.op-node { cursor: pointer; }
table { border-collapse: collapse; width: 100%; background: #fff; margin-top: 16px; font-size: 13px; }
th, td { border-bottom: 1px solid #eeeeee; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; position: sticky; top: 0; }
tr.cpu td.where { color: #c62828; font-weight: 600; } tr.tpu td.where { color: #2e7d32; font-weight: 600; }
tr.cut td { border-top: 3px dashed #d50000; }
tr.sel { background: #e3f2fd; }
td.name { word-break: break-all; max-width: 340px; }
.finding { margin: 2px 0; } .code { font-family: ui-monospace, monospace; font-weight: 600; }
.sev-error { color: #c62828; } .sev-warning { color: #ef6c00; } .sev-info { color: #0277bd; }
.fix { color: #2e7d32; } .obs { color: #616161; }
.model-findings { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 8px 14px;
                  margin-top: 12px; }
"""

SCRIPT = """
(function () {
  var nodes = document.querySelectorAll('#graph .op-node');
  var rows = document.querySelectorAll('#ops tbody tr.op-row');
  document.body.setAttribute('data-rendered-ops', String(nodes.length));
  document.body.setAttribute('data-rendered-rows', String(rows.length));
  function select(id) {
    document.querySelectorAll('.sel').forEach(function (e) { e.classList.remove('sel'); });
    var row = document.getElementById('row-' + id);
    var node = document.getElementById('node-' + id);
    if (row) { row.classList.add('sel'); row.scrollIntoView({block: 'nearest'}); }
    if (node) { node.classList.add('sel'); }
  }
  nodes.forEach(function (n) {
    n.addEventListener('click', function () { select(n.getAttribute('data-op')); });
  });
  rows.forEach(function (r) {
    r.addEventListener('click', function () { select(r.getAttribute('data-op')); });
  });
  var only = document.getElementById('cpu-only');
  if (only) {
    only.addEventListener('change', function () {
      rows.forEach(function (r) {
        r.style.display = (only.checked && !r.classList.contains('cpu')) ? 'none' : '';
      });
    });
  }
})();
"""


def layout(ops: Sequence[OpReport], edges: dict[int, list[int]]) -> dict[int, tuple[float, float]]:
    """Top-left corner of each op's box: layered (longest path from the inputs), barycentre-ordered."""
    order = [o.index for o in ops]
    known = set(order)
    layer: dict[int, int] = {}
    for i in order:  # ops arrive in execution order, so producers come first
        preds = [p for p in edges.get(i, []) if p in known and p in layer]
        layer[i] = 1 + max((layer[p] for p in preds), default=-1)
    rows: dict[int, list[int]] = defaultdict(list)
    for i in order:
        rows[layer[i]].append(i)
    pos_in_row: dict[int, float] = {}
    for lv in sorted(rows):
        members = rows[lv]
        keys: dict[int, float] = {}
        for k, i in enumerate(members):
            ps = [pos_in_row[p] for p in edges.get(i, []) if p in pos_in_row]
            keys[i] = sum(ps) / len(ps) if ps else float(k)
        members.sort(key=lambda i: (keys[i], i))
        for k, i in enumerate(members):
            pos_in_row[i] = float(k)
    width = max((len(r) for r in rows.values()), default=1)
    out: dict[int, tuple[float, float]] = {}
    for lv, members in rows.items():
        offset = (width - len(members)) * (NODE_W + GAP_X) / 2
        for k, i in enumerate(members):
            out[i] = (MARGIN + offset + k * (NODE_W + GAP_X), MARGIN + lv * (NODE_H + GAP_Y))
    return out


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def render_svg(m: ModelReport, edges: dict[int, list[int]]) -> str:
    ops = [o for o in m.ops if o.subgraph == 0]
    pos = layout(ops, edges)
    by_index = {o.index: o for o in ops}
    fc = m.summary.first_cpu_op
    first_cpu = fc.index if fc is not None and fc.subgraph == 0 else None
    w = max((x for x, _ in pos.values()), default=0) + NODE_W + MARGIN
    h = max((y for _, y in pos.values()), default=0) + NODE_H + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" role="img" aria-label="op graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#9e9e9e"/></marker>'
        f'<marker id="arrow-cut" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{CUT_COLOR}"/></marker></defs>',
    ]
    for i, preds in sorted(edges.items()):
        if i not in pos:
            continue
        for p in preds:
            if p not in pos:
                continue
            x1, y1 = pos[p][0] + NODE_W / 2, pos[p][1] + NODE_H
            x2, y2 = pos[i][0] + NODE_W / 2, pos[i][1]
            cut = by_index[p].placement != by_index[i].placement
            my = (y1 + y2) / 2
            style = (
                f'stroke="{CUT_COLOR}" stroke-width="2.5" stroke-dasharray="6 4" marker-end="url(#arrow-cut)" '
                'class="cut-edge"'
                if cut
                else 'stroke="#9e9e9e" stroke-width="1.5" marker-end="url(#arrow)"'
            )
            parts.append(
                f'<path d="M{x1:.1f},{y1:.1f} C{x1:.1f},{my:.1f} {x2:.1f},{my:.1f} {x2:.1f},{y2:.1f}" '
                f'fill="none" {style}/>'
            )
            if cut:
                parts.append(
                    f'<text x="{(x1 + x2) / 2 + 6:.1f}" y="{my + 4:.1f}" fill="{CUT_COLOR}" '
                    f'font-weight="bold">✂ cut</text>'
                )
    for o in ops:
        x, y = pos[o.index]
        fill, stroke = COLORS.get(o.placement, COLORS["cpu"])
        cls = "op-node " + o.placement + (" first-cpu" if o.index == first_cpu else "")
        title = f"#{o.index} {o.opcode} '{o.name}' → {o.placement.upper()}: {o.status or ''}"
        if o.codes:
            title += " [" + ", ".join(o.codes) + "]"
        parts.append(
            f'<g class="{cls}" id="node-{o.index}" data-op="{o.index}" data-placement="{o.placement}">'
            f"<title>{escape(title)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}"/>'
            f'<text x="{x + 8:.1f}" y="{y + 18:.1f}" font-weight="bold">#{o.index} '
            f"{escape(_short(o.opcode, 18))} · {o.placement.upper()}</text>"
            f'<text x="{x + 8:.1f}" y="{y + 35:.1f}" fill="#424242">{escape(_short(o.name, 28))}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _findings_html(fs: Sequence[Finding]) -> str:
    out = []
    for f in fs:
        out.append(
            f'<div class="finding"><span class="code sev-{escape(f.severity)}">{escape(f.code)}</span> '
            f"{escape(f.name)}: {escape(f.message)}"
            + (" <i>(baselined)</i>" if f.baselined else "")
            + f'<div class="obs">observed: {escape(f.observed)}</div>'
            + (f'<div class="fix">fix: {escape(f.fix)}</div>' if f.fix else "")
            + "</div>"
        )
    return "".join(out)


def render_html(m: ModelReport, edges: dict[int, list[int]], *, tool_version: str = "") -> str:
    """The whole page for one model. ``edges`` maps an op index (subgraph 0) to its producers."""
    s = m.summary
    by_op, model_level = findings_by_op(m.findings)
    mode = "compiled model (actual placement)" if m.compiled else f"compiler {m.compiler}, runtime {m.runtime}"
    cards = [
        ("outcome", s.outcome, ""),
        ("ops on the Edge TPU", str(s.ops_tpu), "tpu"),
        ("ops on the CPU", str(s.ops_cpu), "cpu"),
        ("total ops", str(s.ops_total), ""),
        ("Edge TPU subgraphs", str(s.tpu_subgraphs), ""),
    ]
    if s.macs_total and not m.compiled:
        cards.append(("MACs on the Edge TPU", f"{100 * s.macs_tpu_share:.1f}%", "tpu"))
    first = ""
    if s.first_cpu_op is not None:
        f0 = s.first_cpu_op
        first = (
            f"<p><b>First CPU op (the cut):</b> #{f0.index} {escape(f0.opcode)} "
            f"'{escape(f0.name)}' — {escape(f0.reason or f0.status or '')}</p>"
        )
    rows = []
    first_idx = s.first_cpu_op.index if s.first_cpu_op is not None else None
    for o in m.ops:
        cls = f"op-row {o.placement}" + (" cut" if o.subgraph == 0 and o.index == first_idx else "")
        rows.append(
            f'<tr class="{cls}" id="row-{o.index if o.subgraph == 0 else f"{o.subgraph}-{o.index}"}" '
            f'data-op="{o.index}">'
            f"<td>{o.subgraph}</td><td>{o.index}</td><td>{escape(o.opcode)}</td>"
            f'<td class="name">{escape(o.name)}</td><td class="where">{o.placement.upper()}</td>'
            f"<td>{escape(o.status or '—')}</td><td>{escape(', '.join(o.codes))}</td>"
            f"<td>{_findings_html(by_op.get((o.subgraph, o.index), []))}</td></tr>"
        )
    error = ""
    if not m.ok:
        err = m.error or {}
        error = f'<p class="sev-error">{escape(err.get("code", ""))}: {escape(err.get("message", ""))}</p>'
    if s.compiler_error:
        error += f'<p class="sev-error"><b>The compiler would stop:</b> {escape(s.compiler_error)}</p>'
    model_html = (
        f'<div class="model-findings"><b>Model-level findings</b>{_findings_html(model_level)}</div>'
        if model_level
        else ""
    )
    fill_t, stroke_t = COLORS["tpu"]
    fill_c, stroke_c = COLORS["cpu"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'; img-src data:">
<title>tpulint report: {escape(Path(m.path).name)}</title>
<style>{CSS}</style></head>
<body data-op-count="{len(m.ops)}">
<h1>{escape(m.path)}</h1>
<div class="sub">tpulint {escape(tool_version)} · {escape(mode)}</div>
{error}
<div class="cards">{"".join(f'<div class="card {c}"><b>{escape(v)}</b>{escape(k)}</div>' for k, v, c in cards)}</div>
{first}
<div class="legend"><span><i class="sw" style="background:{fill_t};border-color:{stroke_t}"></i>Edge TPU</span>
<span><i class="sw" style="background:{fill_c};border-color:{stroke_c}"></i>CPU</span>
<span><i class="sw" style="background:#fff;border-color:{CUT_COLOR};border-style:dashed"></i>cut
(data crosses between Edge TPU and CPU)</span></div>
<div id="graph">{render_svg(m, edges)}</div>
{model_html}
<p><label><input type="checkbox" id="cpu-only"> only CPU ops</label></p>
<table id="ops"><thead><tr><th>sg</th><th>#</th><th>op</th><th>name (output tensor)</th><th>where</th>
<th>compiler status</th><th>codes</th><th>reasons and fixes</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<script>{SCRIPT}</script>
</body></html>
"""


def op_edges(path: Path) -> dict[int, list[int]]:
    """Producer ops of every op of subgraph 0 (empty when the model cannot be read)."""
    from tpulint.errors import TpulintError
    from tpulint.graph import Graph
    from tpulint.model import load_model

    try:
        model = load_model(path)
    except TpulintError:
        return {}
    try:
        if not model.subgraphs:
            return {}
        g = Graph.build(model, model.subgraphs[0])
        return {op.index: g.producers_of(op) for op in g.subgraph.ops}
    except (IndexError, KeyError, ValueError, TypeError, AttributeError):
        return {}
    finally:
        model.close()
