"""Score tpulint's predictions against a ground-truth corpus of real compiler results.

The corpus layout is the one in ``../shared/corpus`` (see its README): one directory per case with a
``truth.json`` made by parsing the real compiler's output. Only ``pair`` cases (input model and
compiled model both present) give partition truth.

The compiler version and flags used for each case come from its truth, never from its name:
``compiler_version`` from the log or package; otherwise the package's ``min_runtime_version``
(10 → compiler 1.0; 12 → a 2.x–15.0 compiler; 13/14 → 16.0 with that ``-m``). Cases that are
known to have been compiled with ``-a`` (more than one Edge TPU custom op and no "More than one
subgraph" row) are scored with ``-a``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tpulint.analyze import analyze_path
from tpulint.context import Target


@dataclass
class CaseScore:
    case: str
    compiler: str
    runtime: int
    flags: list[str]
    truth_tpu: int
    truth_cpu: list[int]
    pred_tpu: int
    pred_cpu: list[int]
    truth_first: int | None
    pred_first: int | None
    truth_outcome: str
    pred_outcome: str
    op_agreement: float
    status_agreement: float | None
    status_rows: int = 0
    error: str | None = None
    mismatched_ops: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return self.error is None and self.truth_tpu == self.pred_tpu and self.truth_cpu == self.pred_cpu


def target_for(truth: dict[str, Any]) -> tuple[Target, list[str]]:
    """The compiler version and flags a case was made with, from its truth only."""
    ver = truth.get("compiler_version") or ""
    hints = truth.get("compiler_version_hints") or {}
    pkg = sorted(set(hints.get("package_min_runtime_versions") or []))
    compiler = None
    for major in ("16.0", "15.0", "14.1", "2.1", "2.0", "1.0"):
        if ver.startswith(major + "."):
            compiler = major
    runtime: int | None = None
    if compiler is None:
        if pkg == [10]:
            compiler = "1.0"
        elif pkg == [12]:
            compiler = "15.0"
        else:
            compiler = "16.0"
    if pkg and pkg[-1] in (13,) and compiler == "16.0":
        runtime = 13
    if compiler == "15.0" and pkg == [13]:
        runtime = 13
    flags: list[str] = []
    note = truth.get("note") or ""
    # Flags stated by the source (e.g. "compiled with -m 13 -s -da").
    stated = {c for tok in re.findall(r"(?<![\w-])-([a-z]+)\b", note) for c in tok}
    m = re.search(r"-m\s*(\d+)", note)
    if m:
        runtime = int(m.group(1))
    compiled = truth.get("compiled") or {}
    # Without -a the compiler never writes more than one Edge TPU custom op, so a compiled model
    # with several was made with -a even when the source does not say so.
    multiple = "a" in stated or (compiled.get("edgetpu_custom_op_count") or 0) > 1
    if multiple:
        flags.append("-a")
    if "d" in stated:
        flags.append("-d")
    target = Target(compiler=compiler, runtime=runtime, multiple_subgraphs=multiple, search_delegate="d" in stated)
    return target, flags


def pair_cases(corpus: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every ``pair`` case (input and compiled model both present) with its ``truth.json``, by name."""
    out = []
    for d in sorted(p for p in corpus.iterdir() if (p / "truth.json").is_file()):
        truth = json.loads((d / "truth.json").read_text())
        if truth.get("kind") == "pair":
            out.append((d, truth))
    return out


def score_case(case_dir: Path) -> CaseScore | None:
    truth = json.loads((case_dir / "truth.json").read_text())
    if truth.get("kind") != "pair":
        return None
    target, flags = target_for(truth)
    mapping = truth["mapping"]
    model_path = case_dir / truth["files"]["input"]["name"]
    rep = analyze_path(model_path, target)
    truth_cpu = sorted(mapping["cpu_op_input_indices"])
    truth_outcome = "full" if mapping["fully_mapped"] else "none" if mapping["nothing_mapped"] else "partial"
    base = dict(
        case=case_dir.name,
        compiler=target.compiler,
        runtime=target.effective_runtime,
        flags=flags,
        truth_tpu=mapping["tpu_mapped_op_count"],
        truth_cpu=truth_cpu,
        truth_first=mapping["first_cpu_op_index"],
        truth_outcome=truth_outcome,
    )
    if not rep.ok:
        return CaseScore(
            **base,
            pred_tpu=0,
            pred_cpu=[],
            pred_first=None,
            pred_outcome="error",
            op_agreement=0.0,
            status_agreement=None,
            error=(rep.error or {}).get("message"),
        )
    ops0 = [o for o in rep.ops if o.subgraph == 0]
    pred_cpu = sorted(o.index for o in ops0 if o.placement == "cpu")
    pred_tpu = len(ops0) - len(pred_cpu)
    tcpu = set(truth_cpu)
    agree = sum(1 for o in ops0 if (o.placement == "cpu") == (o.index in tcpu))
    mism = [
        {"index": o.index, "opcode": o.opcode, "predicted": o.placement, "codes": o.codes}
        for o in ops0
        if (o.placement == "cpu") != (o.index in tcpu)
    ]
    status_agreement = None
    rows = 0
    table = (truth.get("log") or {}).get("operator_table")
    if table:
        actual: dict[tuple[str, str], int] = {}
        for r in table:
            key = (r["operator"], r["status"])
            actual[key] = actual.get(key, 0) + int(r["count"])
        pred: dict[tuple[str, str], int] = {}
        for o in ops0:
            key = (o.log_name, o.status or "")
            pred[key] = pred.get(key, 0) + 1
        keys = set(actual) | set(pred)
        rows = len(keys)
        status_agreement = sum(1 for k in keys if actual.get(k) == pred.get(k)) / rows if rows else 1.0
    pred_outcome = rep.summary.outcome
    if pred_outcome == "compile_error":
        pred_outcome = "none"
    return CaseScore(
        **base,
        pred_tpu=pred_tpu,
        pred_cpu=pred_cpu,
        pred_first=pred_cpu[0] if pred_cpu else None,
        pred_outcome=pred_outcome,
        op_agreement=agree / len(ops0) if ops0 else 1.0,
        status_agreement=status_agreement,
        status_rows=rows,
        mismatched_ops=mism,
    )


def score_corpus(corpus: Path) -> list[CaseScore]:
    out = []
    for d in sorted(p for p in corpus.iterdir() if (p / "truth.json").is_file()):
        s = score_case(d)
        if s is not None:
            out.append(s)
    return out


def totals(scores: list[CaseScore]) -> dict[str, Any]:
    n = len(scores)
    exact = sum(s.exact for s in scores)
    with_log = [s for s in scores if s.status_agreement is not None]
    return {
        "cases": n,
        "exact_partition_matches": exact,
        "exact_rate": exact / n if n else 0.0,
        "tpu_count_matches": sum(s.truth_tpu == s.pred_tpu for s in scores),
        "first_cpu_op_matches": sum(s.truth_first == s.pred_first for s in scores),
        "outcome_matches": sum(s.truth_outcome == s.pred_outcome for s in scores),
        "mean_abs_tpu_error": sum(abs(s.truth_tpu - s.pred_tpu) for s in scores) / n if n else 0.0,
        "per_op_agreement": sum(s.op_agreement for s in scores) / n if n else 0.0,
        "status_row_agreement": (sum(s.status_agreement or 0 for s in with_log) / len(with_log)) if with_log else None,
        "cases_with_log": len(with_log),
    }


def to_json(scores: list[CaseScore]) -> dict[str, Any]:
    return {"totals": totals(scores), "cases": [asdict(s) | {"exact": s.exact} for s in scores]}
