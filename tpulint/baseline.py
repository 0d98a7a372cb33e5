"""Finding fingerprints and the baseline file (``tpulint baseline write`` / ``check --baseline``).

A ``.tflite`` has no lines to annotate, so adopting tpulint on an existing model zoo works through a
baseline: the findings of today are recorded, and ``check`` then fails only on new ones.

A finding's fingerprint must survive a re-conversion of an unchanged graph, which reorders buffers,
moves every byte offset and may renumber tensors. It is therefore a hash of what identifies the
problem in the *graph*: the rule code, the subgraph, the op type, the op's output tensor name and
the op's input shapes and types. It never includes byte offsets, buffer or tensor indices, and the
op index only as a last resort (two findings that would otherwise collide get an occurrence number
in file order). Model-level findings (no op) hash the rule code and what the rule observed.

The same fingerprint is the SARIF ``partialFingerprints`` value, so GitHub code scanning tracks an
alert across commits even though the file is binary.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tpulint.report import Finding, ModelReport, OpReport

FINGERPRINT_VERSION = "v1"
BASELINE_VERSION = 1
DEFAULT_BASELINE = "tpulint-baseline.json"


class BaselineError(ValueError):
    """The baseline file is missing or malformed (a usage error, exit 2)."""


def _hash(parts: list[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def finding_key(f: Finding, op: OpReport | None) -> list[str]:
    """The stable identity of a finding (see the module doc)."""
    if f.op_index is None and op is None:
        return [FINGERPRINT_VERSION, f.code, "model", str(f.subgraph if f.subgraph is not None else ""), f.observed]
    inputs = op.inputs if op is not None else []
    return [
        FINGERPRINT_VERSION,
        f.code,
        f"sg{f.subgraph if f.subgraph is not None else 0}",
        f.opcode or (op.opcode if op is not None else ""),
        f.op_name or (op.name if op is not None else ""),
        "|".join(inputs),
    ]


def fill_fingerprints(m: ModelReport) -> None:
    """Set ``Finding.fingerprint`` on every finding of ``m`` (unique within the model)."""
    ops = {(o.subgraph, o.index): o for o in m.ops}
    seen: Counter[str] = Counter()
    for f in m.findings:
        op = ops.get((f.subgraph if f.subgraph is not None else 0, f.op_index)) if f.op_index is not None else None
        key = finding_key(f, op)
        fp = _hash(key)
        seen[fp] += 1
        if seen[fp] > 1:  # identical problem twice (e.g. two unnamed equal ops): number them
            fp = _hash([*key, f"#{seen[fp]}"])
        f.fingerprint = fp


def relative_path(path: str | Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form when it lies below it, else absolute."""
    p = Path(os.path.realpath(path))  # not Path.resolve(): it raises on a symlink loop
    try:
        return p.relative_to(root.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


@dataclass
class Baseline:
    """Recorded findings: (model path relative to the baseline's directory, code, fingerprint)."""

    root: Path
    entries: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    path: Path | None = None

    def key(self, model_path: str, f: Finding) -> tuple[str, str, str]:
        return (relative_path(model_path, self.root), f.code, f.fingerprint)

    def apply(self, m: ModelReport) -> int:
        """Mark the findings of ``m`` that the baseline holds as ``baselined``; returns how many."""
        budget = Counter(self.entries)
        n = 0
        for f in m.findings:
            k = self.key(m.path, f)
            if budget[k] > 0:
                budget[k] -= 1
                f.baselined = True
                n += 1
        return n

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BaselineError(
                f"baseline file {path} does not exist (create it with `tpulint baseline write`)"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BaselineError(f"baseline file {path} is not valid JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("tool") != "tpulint" or not isinstance(doc.get("findings"), list):
            raise BaselineError(f"{path} is not a tpulint baseline (expected tool: tpulint and a findings list)")
        if doc.get("version") != BASELINE_VERSION:
            raise BaselineError(f"{path}: unsupported baseline version {doc.get('version')!r}")
        entries: Counter[tuple[str, str, str]] = Counter()
        for i, e in enumerate(doc["findings"]):
            try:
                entries[(str(e["path"]), str(e["code"]), str(e["fingerprint"]))] += 1
            except (KeyError, TypeError):
                raise BaselineError(f"{path}: finding #{i} lacks path/code/fingerprint") from None
        return cls(root=path.resolve().parent, entries=entries, path=path)


def baseline_document(models: list[ModelReport], root: Path, tool_version: str) -> dict[str, Any]:
    """The baseline file's content for the findings of ``models`` (paths relative to ``root``)."""
    rows: list[dict[str, Any]] = []
    for m in models:
        if not m.ok:
            continue
        rel = relative_path(m.path, root)
        for f in m.findings:
            rows.append(
                {
                    "path": rel,
                    "code": f.code,
                    "fingerprint": f.fingerprint,
                    # The rest is for people reading the file; matching uses only the three above.
                    "name": f.name,
                    "subgraph": f.subgraph,
                    "op_index": f.op_index,
                    "opcode": f.opcode,
                    "op_name": f.op_name,
                    "message": f.message,
                }
            )
    rows.sort(key=lambda r: (r["path"], r["subgraph"] or 0, r["op_index"] if r["op_index"] is not None else -1,
                             r["code"], r["fingerprint"]))
    return {"tool": "tpulint", "version": BASELINE_VERSION, "tpulint_version": tool_version, "findings": rows}


def write_baseline(models: list[ModelReport], path: Path, tool_version: str) -> int:
    doc = baseline_document(models, path.resolve().parent, tool_version)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(doc["findings"])
