"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning (``github/codeql-action/upload-sarif``).

* ``tool.driver.rules`` is the whole registry: short/full description, help (text and markdown,
  the rule's own doc), ``helpUri`` into ``docs/rules.md``, default level.
* A ``.tflite`` has no lines, so every result points at ``region.startLine: 1`` of the model
  (GitHub requires a start line) and names the op in a logical location,
  ``subgraph[0]/op[17]/CONV_2D:<output tensor name>``.
* ``partialFingerprints`` carries tpulint's own fingerprint (the baseline's), because GitHub's
  fallback hashes source lines, which a binary file does not have.
* Unreadable models become tool execution notifications (``executionSuccessful: false``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tpulint.docs import doc_section, rule_markdown, rule_text
from tpulint.emit._common import logical_name, op_where, repo_path, visible
from tpulint.registry import Rule, all_rules
from tpulint.report import Finding, Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/tpulint/tpulint"
DOCS_URI = INFORMATION_URI + "/blob/main/docs/rules.md"
FINGERPRINT_KEY = "tpulint/v1"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def help_uri(r: Rule) -> str:
    return f"{DOCS_URI}#{r.code.lower()}-{r.name}"


def rule_descriptor(r: Rule) -> dict[str, Any]:
    full = doc_section(r.doc, "What it does") or r.summary
    return {
        "id": r.code,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": " ".join(full.split())},
        "help": {"text": rule_text(r), "markdown": rule_markdown(r)},
        "helpUri": help_uri(r),
        "defaultConfiguration": {"level": LEVEL[r.severity.value]},
        "properties": {"tags": ["edgetpu", r.family], "scope": r.scope.value},
    }


def _uri(path: str) -> str:
    if path.startswith("/"):
        return "file://" + quote(path)
    return quote(path)


def _result(f: Finding, uri: str, rule_index: dict[str, int], baseline_active: bool) -> dict[str, Any]:
    text = f"{op_where(f)}: {f.message} (observed: {f.observed})"
    if f.fix:
        text += f" Fix: {f.fix}"
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": 1}},
    }
    name = logical_name(f)
    if name is not None:
        location["logicalLocations"] = [
            {"name": f.op_name or f.opcode or f"op{f.op_index}", "fullyQualifiedName": name, "kind": "function"}
        ]
    res: dict[str, Any] = {
        "ruleId": f.code,
        "level": LEVEL.get(f.severity, "warning"),
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {
            "subgraph": f.subgraph,
            "opIndex": f.op_index,
            "opcode": f.opcode,
            "opName": f.op_name,
            "observed": f.observed,
            "fix": f.fix,
            "compilerStatus": f.status,
        },
    }
    if f.code in rule_index:
        res["ruleIndex"] = rule_index[f.code]
    if baseline_active:
        res["baselineState"] = "unchanged" if f.baselined else "new"
    return res


def build(
    report: Report, *, root: Path | None = None, show_baselined: bool = False, baseline_active: bool = False
) -> dict[str, Any]:
    rules = list(all_rules().values())
    rule_index = {r.code: i for i, r in enumerate(rules)}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    artifacts: list[str] = []
    for m in report.models:
        uri = _uri(repo_path(m.path, root))
        if uri not in artifacts:
            artifacts.append(uri)
        if not m.ok:
            err = m.error or {}
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": err.get("message", "cannot read the model")},
                    "descriptor": {"id": err.get("code", "TPU901")},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}],
                }
            )
            continue
        results.extend(_result(f, uri, rule_index, baseline_active) for f in visible(m, show_baselined))
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "tpulint",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": [rule_descriptor(r) for r in rules],
            }
        },
        "artifacts": [{"location": {"uri": a}} for a in artifacts],
        "results": results,
        "invocations": [
            {
                "executionSuccessful": all(m.ok for m in report.models),
                "toolExecutionNotifications": notifications,
            }
        ],
        "columnKind": "unicodeCodePoints",
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(
    report: Report, *, root: Path | None = None, show_baselined: bool = False, baseline_active: bool = False
) -> str:
    doc = build(report, root=root, show_baselined=show_baselined, baseline_active=baseline_active)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
