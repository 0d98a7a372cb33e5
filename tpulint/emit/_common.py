"""Small helpers shared by the emitters (pure functions)."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path, PurePosixPath

from tpulint.report import Finding, ModelReport


def repo_path(path: str, root: Path | None) -> str:
    """``path`` in POSIX form relative to ``root`` (the repository) when it lies below it.

    Relative inputs are taken relative to the current directory; with ``root=None`` the path is only
    normalised. Paths outside ``root`` stay absolute."""
    if root is None:
        p = PurePosixPath(Path(path).as_posix())
        return str(p)[2:] if str(p).startswith("./") else str(p)
    full = Path(os.path.realpath(path))  # never raises: a symlink loop stays as given
    try:
        return full.relative_to(root.resolve()).as_posix()
    except ValueError:
        return full.as_posix()


def op_where(f: Finding) -> str:
    """``op 17 CONV_2D 'name'`` (or ``model``) for messages."""
    if f.op_index is None:
        return "model"
    where = f"op {f.op_index} {f.opcode or '?'}"
    if f.subgraph:
        where = f"subgraph {f.subgraph} " + where
    return where + (f" '{f.op_name}'" if f.op_name else "")


def logical_name(f: Finding) -> str | None:
    """The op as a logical location: ``subgraph[0]/op[17]/CONV_2D:<name>``."""
    if f.op_index is None:
        return None
    return f"subgraph[{f.subgraph or 0}]/op[{f.op_index}]/{f.opcode or '?'}:{f.op_name or ''}"


def visible(m: ModelReport, show_baselined: bool) -> list[Finding]:
    return [f for f in m.findings if show_baselined or not f.baselined]


def findings_by_op(findings: list[Finding]) -> tuple[dict[tuple[int, int], list[Finding]], list[Finding]]:
    """Findings keyed by (subgraph, op index), and the model-level ones (no op)."""
    by_op: dict[tuple[int, int], list[Finding]] = defaultdict(list)
    model_level: list[Finding] = []
    for f in findings:
        if f.op_index is None:
            model_level.append(f)
        else:
            by_op[(f.subgraph or 0, f.op_index)].append(f)
    return by_op, model_level
